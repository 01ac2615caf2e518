package kv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"golang.org/x/sys/unix"
)

// Embedded is the single-machine engine: pebble underneath, optimistic
// concurrency control on top (pebble has atomic write batches and snapshots,
// but no transactions).
//
// A transaction reads a pebble snapshot taken when it starts, overlaid with
// its own write buffer. Commits are serialized by commitMu: a commit is
// validated against the conflict table (the commit sequence number of every
// key written since the oldest running transaction started) and applied as
// one pebble batch before the mutex is released, so commit order, sequence
// order and WAL order agree and a crash leaves a prefix of the commits.
//
// Durability: a commit is appended to pebble's WAL without waiting for an
// fsync; the syncer goroutine syncs the WAL within SyncInterval of any
// commit. A WithSync commit waits, outside commitMu, for the WAL sync that
// covers it; pebble's commit pipeline group-commits concurrent waiters into
// one fsync.
//
// Stats.RoundTrips counts what the same transactions would cost on TiKV
// with 1PC and causal consistency: a start timestamp per read-write attempt,
// one per read (one per 256 keys scanned), one per commit that wrote
// something; read-only transactions as the TiKV engine pays them.
type Embedded struct {
	db   *pebble.DB
	fs   *countingFS
	lock *os.File // flock on DIR/lis.lock; nil in memory
	opts Options

	// commitMu serializes validation and application of commits and guards
	// conflicts. seq is written only under commitMu, after the commit it
	// numbers is visible in pebble.
	commitMu  sync.Mutex
	conflicts conflictTable
	seq       atomic.Uint64
	active    activeSet

	deletes *recentDeletes

	dirty atomic.Bool // a commit is applied but perhaps not synced
	stats counters

	gate closeGate     // Close refuses new calls and waits for running ones
	stop chan struct{} // closed by Close to stop the syncer
	done chan struct{} // closed by the syncer when it exits
}

var _ Engine = (*Embedded)(nil)

// OpenEmbedded opens (creating if needed) the embedded engine in dir. Only
// one Embedded may have dir open at a time, across processes.
func OpenEmbedded(dir string, opts ...Option) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded metadata at %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	e, err := openPebble(dir, vfs.Default, resolveOptions(opts))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded metadata at %s: %w", dir, err)
	}
	e.lock = lock
	return e, nil
}

// OpenMemory opens an embedded engine on an in-memory filesystem: the same
// code paths as OpenEmbedded, for tests. Its contents vanish on Close.
func OpenMemory(opts ...Option) (*Embedded, error) {
	return openPebble("", vfs.NewMem(), resolveOptions(opts))
}

// lockDir takes an exclusive flock on DIR/lis.lock. flock (unlike the fcntl
// lock pebble takes on its LOCK file) also excludes a second open in the
// same process, and gives a clear error.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lis.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedded metadata at %s: lock: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("embedded metadata at %s is in use by another process: %w", dir, err)
		}
		return nil, fmt.Errorf("embedded metadata at %s: lock: %w", dir, err)
	}
	return f, nil
}

// openPebble opens pebble tuned for a small footprint and starts the syncer.
func openPebble(dir string, fs vfs.FS, o Options) (*Embedded, error) {
	cfs := &countingFS{FS: fs}
	e := &Embedded{
		fs:        cfs,
		opts:      o,
		conflicts: newConflictTable(),
		deletes:   newRecentDeletes(),
		active:    activeSet{starts: map[uint64]int{}},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	listener := e.deletes.listener(e.seq.Load)
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref() // the DB holds its own reference
	popts := &pebble.Options{
		FS:                          cfs,
		Cache:                       cache,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 2,
		MaxOpenFiles:                256,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{},
		EventListener:               &listener,
	}
	db, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("open pebble: %w", err)
	}
	e.db = db
	go e.syncer()
	return e, nil
}

// Txn implements Engine.
func (e *Embedded) Txn(ctx context.Context, fn func(Txn) error, opts ...TxnOption) error {
	if err := e.gate.enter(); err != nil {
		return err
	}
	defer e.gate.leave()
	o := ResolveOptions(opts)
	return runWithRetry(ctx, e.opts.MaxAttempts, func() { e.stats.conflicts.Add(1) }, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return e.attempt(fn, o)
	})
}

// attempt runs fn once on a fresh snapshot and commits its writes.
func (e *Embedded) attempt(fn func(Txn) error, o TxnOptions) error {
	t := e.begin(o.ReadOnly)
	defer t.finish()
	if err := fn(t); err != nil {
		if !o.ReadOnly && e.stale(t) {
			return retryable(fmt.Errorf("%w: snapshot stale when fn failed: %v", ErrConflict, err))
		}
		return err
	}
	t.done = true
	if err := e.commit(t, o.Sync); err != nil {
		return err
	}
	e.stats.txns.Add(1)
	return nil
}

// begin starts a transaction. A read-write transaction registers its start
// sequence number before taking the snapshot, so that the snapshot holds
// every commit up to start (maybe a few more, which can only cause a
// spurious conflict, never a missed one) and the conflict table keeps every
// entry it may need.
func (e *Embedded) begin(readOnly bool) *embTxn {
	t := &embTxn{e: e, readOnly: readOnly}
	t.snapSeq = e.seq.Load()
	if !readOnly {
		t.start = e.active.begin(&e.seq)
		t.snapSeq = t.start
		t.reads = map[string]struct{}{}
		t.writes = map[string][]byte{}
		e.stats.roundTrips.Add(1) // a TiKV read-write txn fetches a start timestamp
	}
	t.snap = e.db.NewSnapshot()
	return t
}

// Sync implements Engine: it syncs the WAL, which holds every commit applied
// so far.
func (e *Embedded) Sync(ctx context.Context) error {
	if err := e.gate.enter(); err != nil {
		return err
	}
	defer e.gate.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.syncWAL()
}

// Stats implements Engine.
func (e *Embedded) Stats() Stats {
	s := e.stats.stats()
	s.Syncs = e.fs.syncs.Load()
	return s
}

// Close waits for running transactions, syncs the WAL and closes pebble.
func (e *Embedded) Close() error {
	if err := e.gate.close(); err != nil {
		return err
	}
	e.gate.drain()
	close(e.stop)
	<-e.done
	err := e.syncWAL()
	if cerr := e.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close pebble: %w", cerr)
	}
	if e.lock != nil {
		e.lock.Close() // releases the flock
	}
	return err
}
