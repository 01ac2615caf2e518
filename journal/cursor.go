package journal

import (
	"context"
	"fmt"
	"sync"
	"syscall"
)

const maxConsumerName = 255

// Cursor is a consumer's view of the log: typically one per replication
// target. It has two positions: the acked position (persisted, holds back
// segment deletion) and the read position (in memory, where Next continues).
// Invariant: readPos > acked.
//
// A Cursor is safe for concurrent use (one goroutine calling Next while
// another calls Ack is the intended pattern); concurrent Next calls get
// disjoint batches.
type Cursor struct {
	l    *Log
	name string

	acked   LSN  // guarded by l.mu
	dropped bool // guarded by l.mu

	rmu     sync.Mutex // taken before l.mu; guards readPos and it
	readPos LSN        // next LSN Next delivers
	it      *iter
}

func newCursor(l *Log, name string, acked LSN) *Cursor {
	return &Cursor{l: l, name: name, acked: acked, readPos: acked + 1, it: &iter{l: l}}
}

// Consumer returns the cursor of the named consumer, creating it if needed;
// every call with the same name returns the same *Cursor until the consumer
// is dropped. A new consumer is positioned at the DurableLSN of its
// creation: it receives every record appended after it was created, and
// also those appended before but not yet durable (a position must never
// exceed the durable LSN, or a crash could leave it past the end of the
// log). What came before must reach it some other way, e.g. a full copy.
// Creation is durable when Consumer returns: from then on the consumer holds
// back segment deletion, across restarts too.
func (l *Log) Consumer(name string) (*Cursor, error) {
	if name == "" || len(name) > maxConsumerName {
		return nil, fmt.Errorf("journal: consumer name %q: %w", name, syscall.EINVAL)
	}
	l.gcMu.Lock()
	defer l.gcMu.Unlock()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	if c := l.cursors[name]; c != nil {
		l.mu.Unlock()
		return c, nil
	}
	c := newCursor(l, name, l.durable)
	l.cursors[name] = c
	st := l.stateLocked()
	l.mu.Unlock()
	if err := saveState(l.disk, st); err != nil {
		l.mu.Lock()
		delete(l.cursors, name)
		l.mu.Unlock()
		return nil, fmt.Errorf("journal: create consumer %q: %w", name, err)
	}
	l.mu.Lock()
	l.saved = max(l.saved, st.Durable)
	l.mu.Unlock()
	return c, nil
}

// DropConsumer removes a consumer: its cursor returns ErrDropped from then
// on, it no longer holds back deletion, and the drop is durable when
// DropConsumer returns. Segments it alone held are deleted before it
// returns.
func (l *Log) DropConsumer(name string) error {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	c := l.cursors[name]
	if c == nil {
		l.mu.Unlock()
		return fmt.Errorf("journal: drop %q: %w", name, ErrUnknownConsumer)
	}
	delete(l.cursors, name)
	delete(l.notified, name)
	c.dropped = true
	l.dirty = true
	l.broadcastLocked()
	l.mu.Unlock()

	c.closeReader()
	if err := l.saveState(); err != nil {
		return fmt.Errorf("journal: drop %q: %w", name, err)
	}
	return l.collect()
}

// Name returns the consumer's name.
func (c *Cursor) Name() string { return c.name }

// Position returns the last acked LSN.
func (c *Cursor) Position() LSN {
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.acked
}

// Next returns up to maxRecords records (<= 0: no limit) after the read
// position, and at most maxBytes of Data in total (maxBytes <= 0: no limit)
// but always at least one record. It delivers only durable records, so a
// consumer never sees a record a crash could take back (and whose LSN could
// then be reused); if records are appended but not yet durable, Next asks
// the background goroutine for a sync instead of waiting for the next
// SyncInterval. It blocks until a record is available or ctx ends. Next
// advances the read position, not the acked one.
func (c *Cursor) Next(ctx context.Context, maxRecords int, maxBytes int) ([]Record, error) {
	l := c.l
	for {
		c.rmu.Lock()
		l.mu.Lock()
		err := c.readableLocked()
		pos, avail := c.readPos, l.durable
		if err != nil || pos <= avail {
			l.mu.Unlock()
			var recs []Record
			if err == nil {
				recs, err = c.readLocked(pos, avail, maxRecords, maxBytes)
			}
			c.rmu.Unlock()
			return recs, err
		}
		// Not durable yet. If it is appended, get it synced now; if not,
		// make the append do so (tailing is read under the same lock,
		// so no append can slip between this check and the wait).
		tail := pos > l.last
		if tail {
			l.tailing++
		} else {
			kick(l.syncKick)
		}
		ch := l.changed
		l.mu.Unlock()
		c.rmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if tail {
			l.mu.Lock()
			l.tailing--
			l.mu.Unlock()
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *Cursor) readableLocked() error {
	switch {
	case c.dropped:
		return ErrDropped
	case c.l.closed:
		return ErrClosed
	case c.l.err != nil:
		return c.l.err
	}
	return nil
}

// readLocked reads a batch starting at pos (durable up to avail). Caller
// holds c.rmu.
func (c *Cursor) readLocked(pos, avail LSN, maxRecords, maxBytes int) ([]Record, error) {
	it := c.it
	if it.seg == nil || it.position() != pos {
		if err := it.seek(pos); err != nil {
			it.close()
			return nil, fmt.Errorf("journal: consumer %q: %w", c.name, err)
		}
	}
	var recs []Record
	bytes := 0
	for maxRecords <= 0 || len(recs) < maxRecords {
		rec, err := it.read(avail)
		if err == errEnd {
			break
		}
		if err != nil {
			it.close()
			return nil, fmt.Errorf("journal: consumer %q: %w", c.name, err)
		}
		if maxBytes > 0 && len(recs) > 0 && bytes+len(rec.Data) > maxBytes {
			it.unread(rec)
			break
		}
		bytes += len(rec.Data)
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("journal: consumer %q: no record at durable LSN %d", c.name, pos)
	}
	c.readPos = recs[len(recs)-1].LSN + 1
	return recs, nil
}

// Rewind moves the read position back to just after the acked position,
// e.g. after a reconnect, so that unacknowledged records are sent again.
func (c *Cursor) Rewind() {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.l.mu.Lock()
	c.readPos = c.acked + 1
	c.l.mu.Unlock()
}

// Ack records that the consumer has everything up to upTo (durably, on its
// side). Acks only move forward; a smaller upTo is ignored. upTo may be past
// the read position (the consumer got those records another way); it may
// not be past DurableLSN. Segments that no party needs any more are
// deleted before Ack returns. The position is persisted lazily (see
// persistedState): after a crash a consumer may get records again.
func (c *Cursor) Ack(upTo LSN) error {
	l := c.l
	c.rmu.Lock()
	l.mu.Lock()
	err := c.readableLocked()
	if err == nil && upTo > l.durable {
		err = fmt.Errorf("journal: consumer %q: ack LSN %d beyond durable LSN %d", c.name, upTo, l.durable)
	}
	if err == nil && upTo > c.acked {
		c.acked = upTo
		l.dirty = true
		c.readPos = max(c.readPos, upTo+1)
	}
	due := err == nil && l.gcDueLocked()
	l.mu.Unlock()
	c.rmu.Unlock()
	if err != nil {
		return err
	}
	if due {
		return l.collect()
	}
	return nil
}

// closeReader releases the cursor's file descriptor.
func (c *Cursor) closeReader() {
	c.rmu.Lock()
	c.it.close()
	c.rmu.Unlock()
}
