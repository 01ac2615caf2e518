package callbacks

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Event says what changed: the attributes of inode Ino, or (Entry) the
// entry Name of directory Ino — added, removed or pointed elsewhere, which
// also changes the directory's listing. An Entry event with no Name says
// any entry of the directory may have changed.
type Event struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino   uint64
	Name  string
	Entry bool
}

// Release gives back N holds of Ino.
type Release struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino uint64
	N   uint32
}

// Batch is what Await answers.
type Batch struct {
	_msgpack struct{} `msgpack:",as_array"`

	Events []Event
	// Epoch and Seq are what the session acknowledges in its next Await:
	// the table's incarnation and the number of the last event sent.
	Epoch uint64
	Seq   uint64
	// Reset says events were lost: every hold of the session was dropped,
	// and it must drop everything it cached.
	Reset bool
}

// Options bound the table.
type Options struct {
	// MaxQueue is how many events may wait for a session before it is
	// reset instead; default 65536.
	MaxQueue int
	// MaxBatch is how many events one Await returns; default 4096.
	MaxBatch int
}

// Stats is the table's size, for metrics.
type Stats struct {
	Sessions int
	Holds    int // inodes held by at least one session
	Queued   int // events waiting to be taken
	Resets   uint64
}

// Table is the hold and event table of one metaservice. It is safe for
// concurrent use; its lock is never held across a wait.
type Table struct {
	opts  Options
	epoch uint64

	mu       sync.Mutex // guards everything below
	holds    map[uint64]holders
	sessions map[uint64]*session
	changes  changeLog
	resets   uint64
	acks     chan struct{} // closed and replaced when a session acknowledges
}

// holders are the sessions holding one inode and their counts. Nearly
// every inode has one holder, kept inline so a million held inodes cost
// one map entry each.
type holders struct {
	session uint64            // the inline holder, when n > 0
	count1  uint32            // its count
	n       uint32            // holding sessions, the inline one included
	more    map[uint64]uint32 // the other holders' counts
}

// session is one session's queue of events not yet acknowledged.
type session struct {
	queue   []Event // events numbered first+1 ... seq
	seq     uint64  // the number of the last event queued
	acked   uint64  // the last event it acknowledged
	lost    bool    // events were dropped: the next Await resets
	polling int     // Awaits waiting: the session is listening
	slow    bool    // it missed an acknowledgement deadline
	wake    chan struct{}
}

// New returns an empty table with a fresh epoch, so that a session that
// knew an earlier table (before a metaservice restart) is reset.
func New(opts Options) *Table {
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 1 << 16
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	return &Table{opts: opts, epoch: rand.Uint64() | 1, acks: make(chan struct{}),
		holds: map[uint64]holders{}, sessions: map[uint64]*session{}}
}

// Hold counts one hold of each of inos by sid, for an answer read now
// (HoldSince tells of changes since an earlier read). Zero sid or inode
// numbers hold nothing.
func (t *Table) Hold(sid uint64, inos ...uint64) { t.HoldSince(sid, t.Mark(), inos, nil) }

// Release gives back holds sid counted. Giving back more than it holds
// drops its hold.
func (t *Table) Release(sid uint64, rel []Release) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range rel {
		h, ok := t.holds[r.Ino]
		if !ok {
			continue
		}
		if h = h.add(sid, -int64(r.N)); h.n == 0 {
			delete(t.holds, r.Ino)
		} else {
			t.holds[r.Ino] = h
		}
	}
}

// Pending is an event a listening session was sent and has not
// acknowledged yet: its number.
type Pending struct{ Session, Seq uint64 }

// Publish queues events for every session holding their inodes, except
// origin (the session that made the change; 0 for none). It returns what
// the sessions that are listening (an Await waiting, and not late with an
// acknowledgement before) were sent, for WaitAcked.
func (t *Table) Publish(origin uint64, events []Event) []Pending {
	if len(events) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var sent map[uint64]bool
	for _, ev := range events {
		t.changes.note(ev.Ino, origin)
		h, ok := t.holds[ev.Ino]
		if !ok {
			continue
		}
		h.each(func(sid uint64) {
			if sid != origin && t.push(sid, ev) {
				if sent == nil {
					sent = map[uint64]bool{}
				}
				sent[sid] = true
			}
		})
	}
	var out []Pending
	for sid := range sent {
		if s := t.sessions[sid]; s.polling > 0 && !s.slow {
			out = append(out, Pending{sid, s.seq})
		}
	}
	return out
}

// WaitAcked waits until every session in pending acknowledged what it was
// sent, for at most timeout: a change is then known to every listening
// cache before the call that made it returns. A session that misses the
// deadline is not waited for again until it acknowledges.
func (t *Table) WaitAcked(ctx context.Context, pending []Pending, timeout time.Duration) {
	if len(pending) == 0 {
		return
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		late, wake := t.unacked(pending)
		if len(late) == 0 {
			return
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-timer.C:
			t.markSlow(late)
			return
		}
	}
}

// unacked returns the sessions of pending still to acknowledge.
func (t *Table) unacked(pending []Pending) ([]uint64, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var late []uint64
	for _, p := range pending {
		if s := t.sessions[p.Session]; s != nil && !s.lost && s.acked < p.Seq {
			late = append(late, p.Session)
		}
	}
	return late, t.acks
}

func (t *Table) markSlow(sids []uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sid := range sids {
		if s := t.sessions[sid]; s != nil {
			s.slow = true
		}
	}
}

// push queues ev for sid, and reports whether it did (not if events were
// lost already, or are now).
func (t *Table) push(sid uint64, ev Event) bool {
	s := t.session(sid)
	if s.lost {
		return false
	}
	queued := len(s.queue) < t.opts.MaxQueue
	if queued {
		s.queue = append(s.queue, ev)
		s.seq++
	} else {
		s.lost, s.queue = true, nil
	}
	close(s.wake)
	s.wake = make(chan struct{})
	return queued
}

// session returns sid's state, made on first use. Called with mu held.
func (t *Table) session(sid uint64) *session {
	s := t.sessions[sid]
	if s == nil {
		s = &session{wake: make(chan struct{})}
		t.sessions[sid] = s
	}
	return s
}

// Await acknowledges the events up to seq of epoch, then returns the
// events queued after them, waiting up to wait for one if there are none.
// A session that acknowledges another epoch (it knew an earlier table, or
// none yet), or a sequence number it was never sent, or whose events were
// lost, is answered Reset and holds nothing any more. Await ends early,
// with no events, when ctx does.
func (t *Table) Await(ctx context.Context, sid, epoch, seq uint64, wait time.Duration) Batch {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	t.listening(sid, 1)
	defer t.listening(sid, -1)
	for {
		b, wake := t.take(sid, epoch, seq)
		if len(b.Events) > 0 || b.Reset || wake == nil {
			return b
		}
		select {
		case <-wake:
		case <-timer.C:
			return b
		case <-ctx.Done():
			return b
		}
	}
}

// listening counts sid's Awaits waiting (+1 when one starts, -1 when it
// ends).
func (t *Table) listening(sid uint64, d int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sessions[sid]; s != nil || d > 0 {
		t.session(sid).polling += d
	}
}

// take is one look at sid's queue: the batch to answer, or the channel to
// wait on when there is nothing to send.
func (t *Table) take(sid, epoch, seq uint64) (Batch, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.session(sid)
	first := s.seq - uint64(len(s.queue))
	if epoch != t.epoch || s.lost || seq > s.seq || seq < first {
		t.reset(sid, s)
		return Batch{Epoch: t.epoch, Seq: s.seq, Reset: true}, nil
	}
	s.queue = s.queue[seq-first:]
	if seq > s.acked {
		s.acked, s.slow = seq, false
		close(t.acks)
		t.acks = make(chan struct{})
	}
	if len(s.queue) == 0 {
		s.queue = nil // let the acknowledged events' array go
		return Batch{Epoch: t.epoch, Seq: s.seq}, s.wake
	}
	n := min(len(s.queue), t.opts.MaxBatch)
	evs := append([]Event(nil), s.queue[:n]...)
	return Batch{Events: evs, Epoch: t.epoch, Seq: seq + uint64(n)}, nil
}

// reset drops sid's holds and queue. Called with mu held.
func (t *Table) reset(sid uint64, s *session) {
	t.resets++
	s.queue, s.lost = nil, false
	s.acked = s.seq // nothing it was sent is still to be heard of
	close(t.acks)
	t.acks = make(chan struct{})
	t.dropHolds(sid)
}

// Drop forgets a session that ended, with its holds.
func (t *Table) Drop(sid uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sessions[sid]; s != nil {
		close(s.wake)
		delete(t.sessions, sid)
		t.dropHolds(sid)
	}
}

// dropHolds scans every hold: resets and session ends are rare, and a
// per-session index would double the table's memory. Called with mu held.
func (t *Table) dropHolds(sid uint64) {
	for ino, h := range t.holds {
		if h.holds(sid) {
			if h = h.add(sid, -int64(h.count(sid))); h.n == 0 {
				delete(t.holds, ino)
			} else {
				t.holds[ino] = h
			}
		}
	}
}

// Stats returns the table's size.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := Stats{Sessions: len(t.sessions), Holds: len(t.holds), Resets: t.resets}
	for _, s := range t.sessions {
		st.Queued += len(s.queue)
	}
	return st
}
