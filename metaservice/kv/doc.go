// Package kv is the transactional key-value layer the metaservice stores the
// namespace in. One small interface, Engine, has two implementations:
//
//   - tikv: a TiKV cluster through client-go's txnkv (optimistic 2PC, with 1PC
//     and async commit for small transactions). The volume name prefixes every
//     key so several volumes share one cluster. The engine advances the MVCC
//     GC safe point on a timer.
//   - embedded: a single-machine durable engine for `lis mount` without a
//     cluster: pebble with optimistic concurrency control on top.
//
// Both engines give snapshot isolation with first-committer-wins conflict
// detection on every key a transaction read or wrote, and both pass the one
// conformance suite in kv/kvtest. Engine.Txn retries a transaction whose
// commit conflicted, with bounded, jittered backoff; the transaction body
// must therefore be free of side effects outside the Txn it is given.
//
// What counts as read: keys probed by Get and BatchGet (present or absent)
// and keys a Scan passed to its callback. A key inserted into a scanned
// range by another transaction (a phantom) is not a conflict; a transaction
// that must see a range unchanged reads or writes a key that every writer
// of the range also writes (a directory's own attributes, say). A
// transaction that wrote nothing is not validated: its reads came from one
// consistent snapshot. On TiKV, read keys are validated by prewriting them
// as lock-only mutations, so two writing transactions that merely read the
// same key also conflict there: keep hot keys out of the read sets of
// read-write transactions where you can.
//
// Why pebble for the embedded engine: its write-ahead log holds atomic
// batches in commit order and recovery replays it up to the first torn
// record, so after a crash the store is a prefix of the committed
// transactions — never a torn one — which is exactly the journaling
// filesystem contract the namespace needs. Its commit pipeline
// group-commits concurrent synced writes into one fsync, so concurrency
// raises synced throughput, and unsynced commits cost no fsync at all (a
// background syncer bounds their exposure to SyncInterval). It runs in a
// small, configurable memory budget (a 32 MiB block cache and 8 MiB
// memtables by default), and it is the storage engine of CockroachDB, well
// kept and heavily tested. Pebble has atomic batches and snapshots but no
// transactions, so the engine adds optimistic concurrency control:
// transactions read a snapshot plus their own write buffer, and commit by
// validating their read and write sets against an in-memory table of
// recent commit sequence numbers under one mutex, then applying one batch.
// This mirrors TiKV's optimistic model, so the namespace layer sees the
// same semantics on both engines; a pessimistic lock manager would add
// deadlock handling for no gain on a single machine, where commits take
// microseconds.
//
// Engines are chosen by URL (see Open): "embedded:DIR", "memory:" (an
// embedded engine on an in-memory filesystem, for tests) or
// "tikv://PD1:2379,PD2:2379/VOLUME".
package kv
