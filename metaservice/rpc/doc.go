// Package rpc serves the metaservice core (metaservice.Service) to FUSE
// clients, dataservers and the lis tools over msgrpc: gRPC carrying
// msgpack messages, on unix sockets and TCP.
//
// The service is "lis.Meta"; it has one unary method per operation of the
// core, named after it. Every request and response is a small struct in
// msgpack array layout (wire.go), so a stat costs a few dozen bytes each
// way. The caller's credentials travel in each request that checks
// permissions: the metaservice trusts its clients (the kernel vouched for
// the uid), and transport security is what keeps strangers out.
//
// Requests are validated by the Server before they reach the core (limits
// in limits.go): a garbage or zero request gets an errno (EINVAL, E2BIG,
// EFBIG, ...), never a panic, an unbounded scan or an unbounded
// transaction. Messages that are not msgpack, or are larger than
// Options.MaxRequest, are refused by the transport before decoding.
//
// Client has the same method set, with the same signatures, as
// *metaservice.Service; both satisfy Meta, so the FUSE client and tests can
// run against either a remote metaservice or an in-process one. Errors from
// a Client are *msgrpc.Error values that errors.Is-match the errno the core
// returned (syscall.ENOENT, ...), and transport failures map to errnos too
// (ENOTCONN, ETIMEDOUT, EINTR, E2BIG).
//
// Blocking lock calls (SetLk and Flock with block) are long calls: they
// return when the lock is taken, the caller's context ends (EINTR) or the
// server stops (EINTR).
package rpc
