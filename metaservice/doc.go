// Package metaservice is the metadata service (MDS) of Lis: the POSIX
// namespace, chunk records and leases, sessions and locks, replication
// policies and shards, stored in a transactional key-value store (package
// kv: TiKV for a cluster, an embedded engine for one machine).
//
// Every namespace operation is one KV transaction, so a crash or a
// conflict never leaves half an operation behind; conflicting
// transactions are retried by the engine. The key layout (keys.go) puts
// every key of an inode under its home shard's prefix, and the shard is
// part of the inode number, so an operation finds all its keys from the
// numbers it is given, and a shard is one contiguous key range that TiKV
// can split off and place near the site using it. New inodes are born in
// their parent directory's shard; `lis shard create` starts a new shard at
// an empty directory.
//
// Service is the transport-free core: it takes a Cred (the caller, for
// permission checks including POSIX ACLs) and returns errors that wrap a
// syscall.Errno. Package rpc serves it over msgrpc; the FUSE client and
// the dataservers are its callers.
//
// Across sites, the Service is also the data plane's authority, and the
// only process that talks to dataservers about chunks: dataservers
// register and heartbeat (dataservers.go, package registry); a new
// chunk's copies are placed by its policy (placement_chunks.go, package
// replicaset); leases are installed, renewed and moved by the Service
// itself, a move only once the new holder has everything the old one
// acknowledged (lease.go, handover.go); and deleted chunks are reclaimed
// from every copy (reclaim.go). It reaches dataservers through the
// Dataservers interface (package dspool dials them by address).
//
// Per-operation costs are kept low for a KV store that may be a 250 ms
// round trip away: reads that can go together are batched (a lookup is
// two round trips), inode and chunk numbers come from per-shard counters
// reserved in batches, and usage totals are kept in memory and written
// once a second rather than on every create.
package metaservice
