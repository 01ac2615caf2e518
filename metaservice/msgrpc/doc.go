// Package msgrpc is the RPC transport every Lis daemon speaks: gRPC (HTTP/2
// multiplexing, deadlines, flow control, keepalive) carrying msgpack-encoded
// messages instead of protobuf. Services are declared in Go with Method and
// NewServiceDesc, so request and response types are plain structs with
// msgpack tags; no code generation is involved.
//
// Errors cross the wire as gRPC statuses. A handler error that wraps a
// syscall.Errno travels as status code ErrnoCodeBase+errno and comes back out
// of Invoke as an *Error that unwraps to the same syscall.Errno, so callers
// test it with errors.Is(err, syscall.ENOENT) on both sides of the wire.
//
// Addresses are "unix:/path/to/sock" or "host:port" (TCP). Unix sockets
// are plaintext, their files mode 0660; TCP connections use the
// credentials a server or dial is given, the cluster's mutual TLS (see
// security.go and package clustertls).
package msgrpc
