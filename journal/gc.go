package journal

import (
	"fmt"
)

// Segment deletion. A sealed segment is deleted when all its records are at
// or below the bound: min(owner's release point, durable LSN, every
// consumer's acked position). The active segment is never deleted, so the
// log always knows its next LSN.
//
// Deletion first persists a state file whose positions justify it, then
// unlinks the segments oldest first, fsyncing the directory after each, so
// that after a crash the remaining files are always a contiguous suffix and
// no persisted position points below FirstLSN()-1.

// Release records the owner's own checkpoint: records up to upTo have been
// applied where they need to be (e.g. to chunk files, durably) and the log
// may delete them once every consumer is past them too. Release points only
// move forward; a smaller upTo is ignored.
func (l *Log) Release(upTo LSN) error {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	if upTo > l.last {
		l.mu.Unlock()
		return fmt.Errorf("journal: release up to LSN %d beyond last LSN %d", upTo, l.last)
	}
	if upTo > l.released {
		l.released = upTo
		l.dirty = true
	}
	due := l.gcDueLocked()
	l.mu.Unlock()
	if due {
		return l.collect()
	}
	return nil
}

// Released returns the owner's release point (persisted across restarts,
// lazily like consumer positions, and never beyond LastLSN).
func (l *Log) Released() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// boundLocked is the highest LSN every party is done with.
func (l *Log) boundLocked() LSN {
	b := min(l.released, l.durable)
	for _, c := range l.cursors {
		b = min(b, c.acked)
	}
	return b
}

// gcDueLocked reports whether the oldest segment can be deleted.
func (l *Log) gcDueLocked() bool {
	return len(l.segs) > 1 && l.segs[0].last <= l.boundLocked()
}

// collect deletes every segment the bound allows.
func (l *Log) collect() error {
	l.gcMu.Lock()
	defer l.gcMu.Unlock()
	l.mu.Lock()
	if l.closed || !l.gcDueLocked() {
		l.mu.Unlock()
		return nil
	}
	// Positions only grow and new consumers start at LastLSN, so this bound
	// stays justified by st until we have deleted (gcMu excludes writers of
	// other states, and consumers created meanwhile).
	bound := l.boundLocked()
	st := l.stateLocked()
	l.dirty = false
	l.mu.Unlock()
	if err := saveState(l.disk, st); err != nil {
		l.markDirty()
		return err
	}

	l.mu.Lock()
	l.saved = max(l.saved, st.Durable)
	var victims []*segment
	for len(l.segs) > 1 && l.segs[0].last <= bound {
		s := l.segs[0]
		s.gone = true
		victims = append(victims, s)
		l.segs = l.segs[1:]
		l.size -= s.size
	}
	if l.size <= l.opts.SizeLimit {
		clear(l.notified)
	}
	l.mu.Unlock()
	for _, s := range victims {
		if err := l.disk.fs.Remove(s.path); err != nil {
			return fmt.Errorf("journal: delete segment: %w", err)
		}
		if err := l.disk.sync(); err != nil {
			return fmt.Errorf("journal: delete segment %s: %w", s.name(), err)
		}
	}
	return nil
}

func (l *Log) markDirty() {
	l.mu.Lock()
	l.dirty = true
	l.mu.Unlock()
}

// stateLocked snapshots what the state file should say.
func (l *Log) stateLocked() persistedState {
	st := persistedState{Version: stateVersion, Durable: l.durable, Released: l.released,
		Consumers: make(map[string]LSN, len(l.cursors))}
	for name, c := range l.cursors {
		st.Consumers[name] = c.acked
	}
	return st
}

// saveState persists the current state.
func (l *Log) saveState() error {
	l.gcMu.Lock()
	defer l.gcMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	st := l.stateLocked()
	l.dirty = false
	l.mu.Unlock()
	if err := saveState(l.disk, st); err != nil {
		l.markDirty()
		return err
	}
	l.mu.Lock()
	l.saved = max(l.saved, st.Durable)
	l.mu.Unlock()
	return nil
}

// saveStateIfDirty saves the state if positions or the durable LSN moved.
func (l *Log) saveStateIfDirty() error {
	l.mu.Lock()
	dirty := l.dirty || l.durable > l.saved
	l.mu.Unlock()
	if !dirty {
		return nil
	}
	return l.saveState()
}

// overLimitLocked decides whether an append must call OverLimit, and for
// whom: the slowest consumer, if it is what keeps the oldest segment.
func (l *Log) overLimitLocked() (string, int64, bool) {
	if l.opts.SizeLimit <= 0 || l.opts.OverLimit == nil {
		return "", 0, false
	}
	if l.size <= l.opts.SizeLimit {
		if len(l.notified) > 0 {
			clear(l.notified)
		}
		return "", 0, false
	}
	if len(l.segs) < 2 {
		return "", 0, false // only the active segment: no consumer can free it
	}
	oldest := l.segs[0]
	var slow *Cursor
	for _, c := range l.cursors {
		if c.acked >= oldest.last {
			continue
		}
		if slow == nil || c.acked < slow.acked || (c.acked == slow.acked && c.name < slow.name) {
			slow = c
		}
	}
	if slow == nil || l.notified[slow.name] {
		return "", 0, false
	}
	l.notified[slow.name] = true
	return slow.name, l.size, true
}
