// Package kv is the transactional key-value layer the metaservice stores the
// namespace in. One small interface, Engine, has two implementations:
//
//   - tikv: a TiKV cluster through client-go's txnkv (optimistic 2PC, with 1PC
//     and async commit for small transactions). The volume name prefixes every
//     key so several volumes share one cluster. The engine advances the MVCC
//     GC safe point on a timer.
//   - embedded: a single-machine durable engine for `lis mount` without a
//     cluster. See embedded.go for the choice of storage engine.
//
// Both engines give snapshot isolation with first-committer-wins conflict
// detection on every key a transaction read or wrote, and both pass the one
// conformance suite in kv/kvtest. Engine.Txn retries a transaction whose
// commit conflicted, with bounded, jittered backoff; the transaction body
// must therefore be free of side effects outside the Txn it is given.
//
// Engines are chosen by URL (see Open): "embedded:DIR", "memory:" (an
// embedded engine on an in-memory filesystem, for tests) or
// "tikv://PD1:2379,PD2:2379/VOLUME".
package kv
