package dataserver

import (
	"slices"
	"time"
)

// Lazy replication (policy replication: async_lazy, ReplLazy). The stream
// skips a lazy chunk's mutations and only notes that the peer lacks them
// (replState.dirtySince, dirtyBytes). When the chunk's batch is due, the
// session sends the difference between the chunk's current version and the
// peer's as one patch (patch.go): overwrites of one range within a batch
// cross the wire once, and the peer applies the batch whole, so it still
// only ever holds versions the primary had. A batch is due when
//   - Config.LazyWindow has passed since the peer first lacked a change;
//   - the clock is inside Config.PriorityHours;
//   - the lazy changes the sender holds back pass Config.LazyHighWater; or
//   - a client waits for a copy of a version the peer lacks (shipNow, at
//     an fsync under write_ack local_plus_one or geographic).
//
// The journal is not held back for lazy chunks: their data is read from
// the chunk when the batch goes, so a long window costs no journal space.

// lazyDue reports whether st's batch should go now. Caller holds s.mu.
func (s *sender) lazyDue(st *replState, now time.Time) bool {
	if !st.lazy || st.copyVersion != 0 {
		return false // a batch in flight is acknowledged (or redone) first
	}
	if st.want > st.acked {
		return true
	}
	if st.dirtySince.IsZero() {
		return false
	}
	cfg := s.r.e.cfg
	return !now.Before(st.dirtySince.Add(cfg.LazyWindow)) || s.lazyBytes >= cfg.LazyHighWater ||
		cfg.PriorityHours != nil && cfg.PriorityHours.Contains(now)
}

// takeDueLazy returns the lazy chunks whose batch should go now, in id
// order.
func (s *sender) takeDueLazy() []uint64 {
	now := s.r.e.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []uint64
	for id, st := range s.chunks {
		if s.lazyDue(st, now) {
			due = append(due, id)
		}
	}
	slices.Sort(due)
	return due
}

// nextLazyDue returns when the earliest lazy batch is due (zero if none
// is waiting), so that a session idle on the journal wakes for it. A
// chunk whose batch is in flight waits for its ack instead, which kicks
// the session (recvAcks).
func (s *sender) nextLazyDue() time.Time {
	now := s.r.e.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, st := range s.chunks {
		var at time.Time
		switch {
		case !st.lazy || st.copyVersion != 0:
			continue
		case st.want > st.acked:
			at = now
		case !st.dirtySince.IsZero():
			at = st.dirtySince.Add(s.r.e.cfg.LazyWindow)
		default:
			continue
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
}

// markDirtyLocked notes that the peer lacks n more bytes of lazy chunk st.
// Caller holds s.mu.
func (s *sender) markDirtyLocked(st *replState, n int64) {
	if st.dirtySince.IsZero() {
		st.dirtySince = s.r.e.cfg.Now()
	}
	st.dirtyBytes += n
	s.lazyBytes += n
}

// cleanLocked forgets what st's peer lacked: a batch carrying it was sent.
// Caller holds s.mu.
func (s *sender) cleanLocked(st *replState) {
	s.lazyBytes -= st.dirtyBytes
	st.dirtySince, st.dirtyBytes = time.Time{}, 0
}

// shipNow makes chunk's lazy batch due on every sender whose peer lacks
// its current version, and wakes them.
func (r *replicator) shipNow(chunk uint64) {
	cs := r.e.lookup(chunk)
	if cs == nil {
		return
	}
	cs.mu.RLock()
	v := cs.version
	cs.mu.RUnlock()
	for _, s := range r.sendersNow() {
		s.want(chunk, v)
	}
}

// want records that a client waits for chunk's version v on s's peer.
func (s *sender) want(chunk, v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chunks[chunk]
	if st == nil || !st.lazy || st.acked >= v {
		return
	}
	st.want = max(st.want, v)
	s.kickLocked()
}
