package kv

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
)

// conflictTable remembers the commit sequence number of recently written
// keys. It is guarded by Embedded.commitMu.
//
// Invariant: a key absent from last was last committed at a sequence number
// at or below floor, and floor is at or below the start of every running
// read-write transaction; so an absent key never conflicts.
type conflictTable struct {
	last    map[string]uint64
	floor   uint64
	pruneAt int // prune when last grows to this size
}

const minPruneAt = 4096

func newConflictTable() conflictTable {
	return conflictTable{last: map[string]uint64{}, pruneAt: minPruneAt}
}

// conflicts reports whether a key of t's read or write set was committed
// after t started.
func (c *conflictTable) conflicts(t *embTxn) bool {
	for k := range t.reads {
		if c.last[k] > t.start {
			return true
		}
	}
	for k := range t.writes {
		if c.last[k] > t.start {
			return true
		}
	}
	return false
}

// record notes that t's writes were committed at seq, and prunes entries no
// running transaction can conflict with once the table has doubled.
func (c *conflictTable) record(t *embTxn, seq uint64, active *activeSet) {
	for k := range t.writes {
		c.last[k] = seq
	}
	if len(c.last) < c.pruneAt {
		return
	}
	c.floor = active.oldest(seq)
	for k, s := range c.last {
		if s <= c.floor {
			delete(c.last, k)
		}
	}
	c.pruneAt = max(minPruneAt, 2*len(c.last))
}

// activeSet counts the running read-write transactions by start sequence
// number.
type activeSet struct {
	mu     sync.Mutex
	starts map[uint64]int
}

// begin registers a transaction starting now and returns its start: the
// current commit sequence number, read under mu so that a concurrent prune
// either sees the registration or ran before the read.
func (a *activeSet) begin(seq *atomic.Uint64) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := seq.Load()
	a.starts[s]++
	return s
}

// end unregisters a transaction that began at start.
func (a *activeSet) end(start uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.starts[start]--; a.starts[start] == 0 {
		delete(a.starts, start)
	}
}

// oldest returns the smallest running start, or cur if none runs.
func (a *activeSet) oldest(cur uint64) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	for s := range a.starts {
		cur = min(cur, s)
	}
	return cur
}

// commit validates t and applies its writes as one pebble batch. A
// transaction that wrote nothing commits trivially: its reads came from one
// consistent snapshot. With sync, commit returns once the WAL holding the
// batch is synced; the wait happens outside commitMu so that concurrent
// synced commits share an fsync.
func (e *Embedded) commit(t *embTxn, sync bool) error {
	if len(t.writes) == 0 {
		return nil
	}
	b := e.db.NewBatchWithSize(batchSize(t.writes))
	defer b.Close()
	for k, v := range t.writes {
		var err error
		if v == nil {
			err = b.Delete([]byte(k), nil)
		} else {
			err = b.Set([]byte(k), v, nil)
		}
		if err != nil {
			return fmt.Errorf("embedded commit: build batch: %w", err)
		}
	}
	e.stats.roundTrips.Add(1) // one 1PC prewrite on TiKV
	if err := e.apply(t, b, sync); err != nil {
		return err
	}
	if !sync {
		e.dirty.Store(true)
		return nil
	}
	if err := b.SyncWait(); err != nil {
		return fmt.Errorf("embedded commit: sync: %w", err)
	}
	return nil
}

// apply validates t and applies b under commitMu.
func (e *Embedded) apply(t *embTxn, b *pebble.Batch, sync bool) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	if e.conflicts.conflicts(t) {
		return retryable(ErrConflict)
	}
	var err error
	if sync {
		err = e.db.ApplyNoSyncWait(b, pebble.Sync)
	} else {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("embedded commit: apply: %w", err)
	}
	seq := e.seq.Load() + 1
	e.conflicts.record(t, seq, &e.active)
	e.deletes.record(t.writes, seq)
	e.seq.Store(seq)
	return nil
}

// stale reports whether a key t read was committed by another transaction
// after t started, i.e. whether what fn saw is already out of date.
func (e *Embedded) stale(t *embTxn) bool {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	return e.conflicts.conflicts(t)
}

// batchSize estimates the encoded size of writes, so the batch buffer is
// allocated once.
func batchSize(writes map[string][]byte) int {
	n := 12 // batch header
	for k, v := range writes {
		n += len(k) + len(v) + 12
	}
	return n
}
