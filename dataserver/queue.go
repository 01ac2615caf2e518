package dataserver

import (
	"context"
	"sync"

	"github.com/lis-fs/lis/journal"
)

// queued is one journal record waiting to be applied to its chunk file.
type queued struct {
	lsn journal.LSN
	cs  *chunkState
	m   *Mutation
}

// applyQueue holds the mutations appended to the journal and not yet
// applied, in LSN order (writers push while holding the engine's appendMu,
// which also orders their journal appends). The applier consumes it;
// writers wait for room in it (back-pressure on acknowledged but unapplied
// bytes).
type applyQueue struct {
	mu      sync.Mutex
	items   []queued
	bytes   int64
	staged  int64 // see stage
	limit   int64
	changed chan struct{} // closed and replaced on every push and pop
	closed  bool
}

func newApplyQueue(limit int64) *applyQueue {
	return &applyQueue{limit: limit, changed: make(chan struct{})}
}

func (q *applyQueue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// push appends an item; the caller holds appendMu so pushes are in LSN
// order.
func (q *applyQueue) push(it queued) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.bytes += int64(len(it.m.Data))
	q.notifyLocked()
	q.mu.Unlock()
}

// stage counts n bytes of direct appends that are acknowledged but not yet
// journaled (so not yet queued) against the limit; unstage takes them back
// when they are queued.
func (q *applyQueue) stage(n int64) {
	q.mu.Lock()
	q.staged += n
	q.mu.Unlock()
}

func (q *applyQueue) unstage(n int64) {
	q.mu.Lock()
	q.staged -= n
	q.notifyLocked()
	q.mu.Unlock()
}

// waitRoom blocks while the queued and staged bytes are over the limit. A
// write larger than the limit is let through when nothing is queued or
// staged.
func (q *applyQueue) waitRoom(ctx context.Context) error {
	for {
		q.mu.Lock()
		if q.bytes+q.staged < q.limit || (len(q.items) == 0 && q.staged == 0) || q.closed {
			q.mu.Unlock()
			return nil
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitItems blocks until the queue is not empty; false when ctx ends.
func (q *applyQueue) waitItems(ctx context.Context) bool {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			q.mu.Unlock()
			return true
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// upTo returns (a copy of) the leading items with LSN <= lsn.
func (q *applyQueue) upTo(lsn journal.LSN) []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(q.items) && q.items[n].lsn <= lsn {
		n++
	}
	return append([]queued(nil), q.items[:n]...)
}

// first is the LSN of the oldest item (0 when empty).
func (q *applyQueue) first() journal.LSN {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return 0
	}
	return q.items[0].lsn
}

// last is the LSN of the newest item (0 when empty).
func (q *applyQueue) last() journal.LSN {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return 0
	}
	return q.items[len(q.items)-1].lsn
}

// pop removes the head item, which must be it.
func (q *applyQueue) pop(it queued) {
	q.mu.Lock()
	if len(q.items) == 0 || q.items[0].lsn != it.lsn {
		q.mu.Unlock()
		panic("dataserver: apply queue out of order")
	}
	q.items[0] = queued{}
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	}
	q.bytes -= int64(len(it.m.Data))
	q.notifyLocked()
	q.mu.Unlock()
}

// overHalf reports whether the queue holds more than half its limit.
func (q *applyQueue) overHalf() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes > q.limit/2
}

// pendingBytes is the data bytes queued.
func (q *applyQueue) pendingBytes() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// close releases every waiter for good.
func (q *applyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.notifyLocked()
	q.mu.Unlock()
}
