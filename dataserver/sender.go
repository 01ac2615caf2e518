package dataserver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lis-fs/lis/journal"
)

// sender ships the journal to one peer: every mutation of the chunks
// replicated there, in journal order, over one stream at a time (a
// session), reconnecting with backoff. It owns the journal consumer
// consumerPrefix+peer ID.
//
// Per chunk it keeps replState. The stream only ever sends a chunk's
// mutation of version sent+1, so the peer can apply it in order; anything
// else is either already there (version <= sent: skipped) or means the
// peer must first get a full copy (resync), which the session makes
// between two journal batches.
type sender struct {
	r        *replicator
	peerID   string
	consumer string
	kick     chan struct{} // wakes a session waiting on the journal: resyncs are queued
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	cur      atomic.Pointer[journal.Cursor] // the last session's cursor

	mu        sync.Mutex
	addr      string
	chunks    map[uint64]*replState
	resyncQ   []uint64
	connected bool
	lastErr   string
	resyncs   uint64
	copied    int64
	rawBytes  int64 // batch payloads shipped, before compression
	wireBytes int64 // ... and as sent
	lazyBytes int64 // sum of the chunks' dirtyBytes (lazy.go)
}

// replState is what a sender knows of one chunk on its peer.
//
// Invariants: acked <= sent while a session runs; resync means the stream
// skips the chunk until a full copy has been sent; copyVersion != 0 while a
// sent full copy is not yet acknowledged (it is redone if the session
// ends first); copySeq is the batch that carried its end.
//
// A lazy chunk (lazy.go) never has resync set: whatever its peer lacks,
// from skipped mutations to a whole copy, is noted in dirtySince and
// dirtyBytes and sent as one batch when due; want is the highest version
// a client waits for on the peer.
type replState struct {
	acked       uint64
	sent        uint64
	resync      bool
	copyVersion uint64
	copySeq     uint64

	lazy       bool
	dirtySince time.Time
	dirtyBytes int64
	want       uint64
}

// newSender makes a sender whose life is bounded by ctx and stop.
func newSender(ctx context.Context, r *replicator, p Peer) *sender {
	s := &sender{r: r, peerID: p.ID, consumer: consumerPrefix + p.ID, addr: p.Addr,
		kick: make(chan struct{}, 1), done: make(chan struct{}), chunks: map[uint64]*replState{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	return s
}

func (s *sender) setAddr(addr string) {
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
}

// track starts replicating chunk (at version here) in mode, or switches
// its mode; a new peer first gets a full-copy check, unless the chunk is
// fresh (never written here: the stream brings every version from the
// first). A chunk that stops being lazy sends what its peer lacks at once.
func (s *sender) track(chunk uint64, mode ReplMode, fresh bool, version uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lazy := mode == ReplLazy
	st := s.chunks[chunk]
	if st == nil {
		st = &replState{lazy: lazy}
		s.chunks[chunk] = st
		if !fresh {
			// A copy the peer lacks whole is made at once, lazy or not:
			// batching is for changes, and a missing copy is redundancy
			// the policy wants now (a new placement, re-replication).
			st.want = version
			s.needResyncLocked(chunk)
		}
		return
	}
	if st.lazy == lazy {
		return
	}
	s.cleanLocked(st)
	st.lazy, st.want, st.resync = lazy, 0, false
	// Either way the next transfer starts from what the peer holds: a
	// lazy chunk's sent version may be behind the stream's, and a chunk
	// turning lazy may have a copy queued that now goes as a batch.
	s.needResyncLocked(chunk)
}

// untrack stops replicating chunk and returns how many chunks are left.
func (s *sender) untrack(chunk uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.chunks[chunk]; st != nil {
		s.cleanLocked(st)
	}
	delete(s.chunks, chunk)
	return len(s.chunks)
}

// needResyncLocked queues a full copy of chunk and wakes the session; for
// a lazy chunk it notes that the next batch must bring the peer up to date.
func (s *sender) needResyncLocked(chunk uint64) {
	st := s.chunks[chunk]
	switch {
	case st == nil || st.resync:
		return
	case st.lazy:
		st.want = max(st.want, st.sent) // what it was sent is lacking: redo at once
		s.markDirtyLocked(st, 0)
		s.kickLocked()
		return
	}
	st.resync = true
	s.resyncQ = append(s.resyncQ, chunk)
	s.kickLocked()
}

// kickLocked wakes a session waiting on the journal. Caller holds s.mu.
func (s *sender) kickLocked() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// takeResyncs returns and clears the queue of chunks to copy.
func (s *sender) takeResyncs() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.resyncQ
	s.resyncQ = nil
	return q
}

// resetForSession forgets what the previous session sent but the peer
// did not acknowledge: the journal cursor rewinds to the last ack, and
// full copies in flight are redone. The copy queue is rebuilt from the
// chunk states, so a copy the previous session took but never made is not
// lost.
func (s *sender) resetForSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resyncQ = s.resyncQ[:0]
	for id, st := range s.chunks {
		st.sent = st.acked
		if st.copyVersion != 0 {
			st.copyVersion, st.copySeq = 0, 0
			st.resync = !st.lazy
			if st.lazy {
				st.want = max(st.want, st.sent+1) // redo the lost batch at once
				s.markDirtyLocked(st, 0)
			}
		}
		if st.resync {
			s.resyncQ = append(s.resyncQ, id)
		}
	}
}

// dropped is called when the journal dropped the consumer: every chunk
// needs a full copy.
func (s *sender) dropped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.chunks {
		s.needResyncLocked(id)
	}
}

// run runs sessions until the sender is stopped.
func (s *sender) run() {
	defer close(s.done)
	ctx := s.ctx
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, journal.ErrDropped) {
			s.dropped()
		}
		s.mu.Lock()
		s.connected = false
		s.lastErr = err.Error()
		s.mu.Unlock()
		if time.Since(start) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		s.r.log.Warn("replication session ended", "peer", s.peerID, "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// stop ends the sender; done is closed when its goroutine has returned.
func (s *sender) stop() { s.cancel() }

// info describes chunk on this sender's peer.
func (s *sender) info(chunk uint64) (ReplicaInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chunks[chunk]
	if st == nil {
		return ReplicaInfo{}, false
	}
	return ReplicaInfo{Peer: Peer{ID: s.peerID, Addr: s.addr}, AckedVersion: st.acked,
		SentVersion: st.sent, NeedsResync: st.resync || st.copyVersion != 0,
		LazyBytes: st.dirtyBytes}, true
}

// stat summarizes the sender.
func (s *sender) stat() PeerStat {
	s.mu.Lock()
	ps := PeerStat{Peer: Peer{ID: s.peerID, Addr: s.addr}, Connected: s.connected, Chunks: len(s.chunks),
		Resyncs: s.resyncs, CopiedBytes: s.copied, RawBytes: s.rawBytes, WireBytes: s.wireBytes,
		LastError: s.lastErr}
	acked := make(map[uint64]uint64, len(s.chunks))
	for id, st := range s.chunks {
		acked[id] = st.acked
	}
	s.mu.Unlock()
	for id, a := range acked {
		if cs := s.r.e.lookup(id); cs != nil {
			cs.mu.RLock()
			if cs.version != a {
				ps.Behind++
			}
			cs.mu.RUnlock()
		}
	}
	return ps
}
