package kv

import (
	"errors"
	"sync/atomic"
	"time"
)

// ErrReadOnly is returned by Set and Delete in a transaction started with
// ReadOnly.
var ErrReadOnly = errors.New("kv: write in read-only transaction")

// errTxnDone is returned by a Txn used after its fn returned.
var errTxnDone = errors.New("kv: transaction used after it finished")

// Options configure an engine when it is opened. The zero value of every
// field means its default.
type Options struct {
	// MaxAttempts bounds how often Engine.Txn runs a conflicting transaction
	// (default 100).
	MaxAttempts int

	// SyncInterval bounds how long an acknowledged commit without WithSync
	// may stay unsynced (embedded; default 1s).
	SyncInterval time.Duration
	// CacheSize is the block cache of the embedded engine (default 32 MiB).
	CacheSize int64
	// MemTableSize is the size of one memtable of the embedded engine
	// (default 8 MiB; at most two are kept before writes stall).
	MemTableSize uint64

	// GCInterval is how often the TiKV engine advances the GC safe point
	// (default 10m; negative disables GC, e.g. when another client of the
	// cluster runs it).
	GCInterval time.Duration
	// CausalConsistency lets TiKV 1PC and async-commit transactions compute
	// their commit timestamp without fetching the latest timestamp from PD
	// first: one round trip less per commit, at the price of real-time
	// order between transactions that touch no common key (they stay
	// causally ordered). Default false: linearizable commits.
	CausalConsistency bool
	// HistoryWindow is how much MVCC history the TiKV engine keeps behind
	// the GC safe point: the safe point is moved to now − HistoryWindow
	// (default 10m). It must exceed the longest transaction.
	HistoryWindow time.Duration
}

// Option sets one field of Options.
type Option func(*Options)

// WithMaxAttempts sets Options.MaxAttempts.
func WithMaxAttempts(n int) Option { return func(o *Options) { o.MaxAttempts = n } }

// WithSyncInterval sets Options.SyncInterval.
func WithSyncInterval(d time.Duration) Option { return func(o *Options) { o.SyncInterval = d } }

// WithCacheSize sets Options.CacheSize.
func WithCacheSize(n int64) Option { return func(o *Options) { o.CacheSize = n } }

// WithMemTableSize sets Options.MemTableSize.
func WithMemTableSize(n uint64) Option { return func(o *Options) { o.MemTableSize = n } }

// WithGC sets Options.GCInterval and Options.HistoryWindow.
func WithGC(interval, history time.Duration) Option {
	return func(o *Options) { o.GCInterval, o.HistoryWindow = interval, history }
}

// WithCausalConsistency sets Options.CausalConsistency.
func WithCausalConsistency(on bool) Option { return func(o *Options) { o.CausalConsistency = on } }

// resolveOptions applies opts to the defaults.
func resolveOptions(opts []Option) Options {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = time.Second
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 32 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 8 << 20
	}
	if o.GCInterval == 0 {
		o.GCInterval = 10 * time.Minute
	}
	if o.HistoryWindow <= 0 {
		o.HistoryWindow = 10 * time.Minute
	}
	return o
}

// counters are the atomic fields behind Stats, shared by the engines.
type counters struct {
	txns, conflicts, roundTrips atomic.Uint64
}

func (c *counters) stats() Stats {
	return Stats{Txns: c.txns.Load(), Conflicts: c.conflicts.Load(), RoundTrips: c.roundTrips.Load()}
}
