// Package kvtest is the conformance suite every kv.Engine passes. An engine's
// own tests call Run with a function that opens a fresh, empty engine; the
// suite checks the contract of kv.Engine and kv.Txn: reads-your-writes,
// snapshot isolation, write-write and read-write conflict detection with
// retry, scan order, bounds and limits, large values, binary keys, error
// propagation, read-only transactions and Sync.
//
// Interleavings are made deterministic by running one transaction inside the
// fn of another (a nested Engine.Txn call), which both engines allow since
// fn holds no engine lock.
package kvtest
