// Package dataserver is Lis's chunk server: the co-located "burst buffer"
// that acknowledges writes at local-disk latency, keeps chunks with
// per-block checksums, and ships every mutation to replica dataservers in
// journal order.
//
// Write path. A client mutation (Write, Truncate) is checked (write lease
// held by this dataserver and not expired, expected version current, data
// checksum), space for it is reserved (quota, fallocate: a later apply
// cannot hit ENOSPC), it becomes a Mutation {op, chunk, new version,
// offset, data, crc32c} appended to the journal, and it is acknowledged with
// the chunk's new version. Sync (or a write with Sync set) waits for the
// journal's group commit. The mutation sits in the chunk's pending list
// (reads overlay it on the chunk file) until the applier writes it into the
// chunk file; the applier only applies durable records, so a chunk file
// never holds data that a crash could take out of the journal. Checkpoints
// fsync the chunk files and their checksum sidecars (package chunkstore),
// then release the journal; a restart replays the journal from the last
// checkpoint, which brings every chunk back at the version of its last
// surviving mutation, including every mutation a Sync acknowledged. Every
// chunk's metadata and checksums stay in memory, but its data file is open
// only while in use or among the Config.MaxOpenChunks most recently used
// (chunkstore), so the number of chunks is not bounded by RLIMIT_NOFILE.
//
// Direct appends. A large write past everything a chunk holds (a file
// written front to back) is written once: straight into the chunk file's
// tail, acknowledged, and journaled as a data-less OpAppend record only
// after an fdatasync of the chunk file, by the append flusher or the next
// Sync (see append.go for the invariants and the recovery argument). A
// write behind such appends is not made to wait for that fdatasync: it
// stays unjournaled too, with its data, and is journaled right after them.
//
// Versions and leases. Every mutation bumps its chunk's version by one. A
// client names the version it expects (or AnyVersion); a stale one is
// refused with ESTALE. Leases {chunk, holder, epoch, expiry} come from the
// metaservice through GrantLease/RevokeLease; a lower epoch than one seen
// is refused (ESTALE), a new highest epoch is journaled (synced with the
// first durable write under it: see grantLease for why that is enough; a
// revoke is synced at once), and a mutation without a current lease held
// by this dataserver is refused with EPERM (Config.NoLeases turns the
// check off for a one-machine volume).
//
// Replication. A sender per peer reads the journal through its own journal
// consumer (durable records only), keeps the mutations of chunks replicated
// to that peer, and ships them over one bidirectional gRPC stream in
// lz4-compressed batches, a window of batches in flight. The receiver
// applies a chunk's mutation only on top of the version just before it, so
// a replica is always some version the primary had, never a torn mix; it
// journals what it applies, and acknowledges versions once its own journal
// has made them durable. The sender acks the journal consumer as far as the
// peer has acknowledged. A replica that cannot continue from the stream (it
// is new, it missed mutations, or its consumer was dropped because the
// journal outgrew its size limit while the peer was away) gets a full copy:
// the sender diffs block checksums with the peer and sends only the blocks
// that differ, between ResyncBegin and ResyncEnd markers (the chunk is
// unreadable on the replica in between), and the stream resumes at the
// following version. After a restart every chunk/peer pair starts with such
// a check, which costs a checksum exchange when nothing differs.
//
// RPC. Server serves the msgrpc service ServiceName on a unix socket (the
// co-located FUSE client) and TCP (peers); Client wraps it. Client.Write
// goes over the Writes stream, one long-lived bidirectional stream that
// carries every concurrent write of a Client with an id per request (see
// writestream.go): a unary call per write spent more in HTTP/2 stream
// setup than in the write. Errors carry
// errnos across the wire (errors.Is(err, syscall.ESTALE) works on the
// client). Requests are decoded by msgrpc's bounded decoder and replication
// batches by decodeBatch, both fuzzed.
package dataserver
