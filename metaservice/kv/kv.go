package kv

import (
	"context"
	"errors"
)

// ErrConflict is returned (wrapped) by Engine.Txn when a transaction still
// conflicted after every retry. It is never returned for a transaction that
// committed.
var ErrConflict = errors.New("kv: transaction conflict")

// ErrClosed is returned by operations on a closed Engine.
var ErrClosed = errors.New("kv: engine closed")

// Engine is a transactional ordered key-value store. Implementations are
// safe for concurrent use.
type Engine interface {
	// Txn runs fn inside a transaction and commits what it wrote. If the
	// commit conflicts with a transaction that committed after this one's
	// snapshot was taken (on any key this one read or wrote), fn is run again
	// on a fresh snapshot, a bounded number of times. An error returned by fn
	// aborts the transaction and is returned as is, unless the engine can
	// tell the snapshot fn saw was already stale, in which case fn is retried
	// too (so a logical error is never reported from a stale view).
	Txn(ctx context.Context, fn func(Txn) error, opts ...TxnOption) error

	// Sync makes every transaction acknowledged so far durable.
	Sync(ctx context.Context) error

	// Stats reports the engine's counters.
	Stats() Stats

	// Close releases the engine. Committed, acknowledged transactions are
	// made durable first.
	Close() error
}

// Txn is one transaction's view: a snapshot of the store overlaid with the
// transaction's own uncommitted writes (reads see their own writes). A Txn
// is used by one goroutine, only during the fn it was passed to.
type Txn interface {
	// Get returns the value of key, or nil if the key is absent. A present
	// key never has a nil value (empty values read back as []byte{}).
	Get(key []byte) ([]byte, error)
	// BatchGet returns the present keys among keys, keyed by string(key),
	// in one round trip where the engine can.
	BatchGet(keys [][]byte) (map[string][]byte, error)
	// Scan calls fn for each key in [start, end) in ascending byte order, at
	// most limit keys (limit <= 0 means no limit), until fn returns false.
	// The slices passed to fn are only valid during the call.
	Scan(start, end []byte, limit int, fn func(key, value []byte) bool) error
	// Set writes key=value when the transaction commits. value must not be
	// nil.
	Set(key, value []byte) error
	// Delete removes key when the transaction commits.
	Delete(key []byte) error
}

// TxnOption adjusts one call of Engine.Txn.
type TxnOption func(*TxnOptions)

// TxnOptions are the resolved options of one transaction.
type TxnOptions struct {
	// Sync asks that the commit be durable before Txn returns. Without it a
	// commit is durable within the engine's sync interval.
	Sync bool
	// ReadOnly promises that fn writes nothing: engines skip the commit
	// protocol and may read from a snapshot that needs no fresh timestamp.
	ReadOnly bool
}

// WithSync makes the commit durable before Txn returns.
func WithSync(sync bool) TxnOption { return func(o *TxnOptions) { o.Sync = o.Sync || sync } }

// ReadOnly marks the transaction as one that writes nothing.
func ReadOnly() TxnOption { return func(o *TxnOptions) { o.ReadOnly = true } }

// ResolveOptions applies opts to the zero TxnOptions.
func ResolveOptions(opts []TxnOption) TxnOptions {
	var o TxnOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Stats are an engine's cumulative counters. RoundTrips counts the requests
// an operation would send to a remote store (reads, scans, timestamp
// fetches and commit phases); the embedded engine counts them the same way
// so that benchmarks compare like with like.
type Stats struct {
	Txns       uint64 // transactions committed (or finished, if read-only)
	Conflicts  uint64 // commit attempts that conflicted and were retried
	RoundTrips uint64
	Syncs      uint64 // fsyncs issued by the engine (embedded only)
}

// Splitter is implemented by engines whose key space is cut into ranges
// (TiKV regions); the metaservice asks for splits at shard boundaries.
type Splitter interface {
	SplitAt(ctx context.Context, keys ...[]byte) error
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, or nil if there is none (prefix is all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
