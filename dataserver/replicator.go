package dataserver

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/lis-fs/lis/journal"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"google.golang.org/grpc"
)

// consumerPrefix names the journal consumer of each replication target.
const consumerPrefix = "repl/"

// replicator owns one sender per peer that some chunk is replicated to,
// and the client connections to those peers. It learns of replica lists
// from the engine (at start, and on SetReplicas) and of journal overflow
// from the journal's OverLimit.
type replicator struct {
	e   *engine
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	bw      *bandwidth  // shared by every sender
	reports copyReports // chunks whose replicas' acknowledgements moved
	bell    ackBell     // rung on every acknowledgement (ackwait.go)

	mu      sync.Mutex
	senders map[string]*sender          // by peer ID
	conns   map[string]*grpc.ClientConn // by address
}

func newReplicator(e *engine) *replicator {
	ctx, cancel := context.WithCancel(context.Background())
	return &replicator{e: e, log: e.log, ctx: ctx, cancel: cancel, bw: newBandwidth(e.cfg, e.m.limiterWait),
		senders: map[string]*sender{}, conns: map[string]*grpc.ClientConn{}, reports: copyReports{due: map[uint64]struct{}{}}}
}

// start tracks every chunk's replicas as recovered from disk. What each
// replica holds is unknown after a restart, so every pair starts with a
// full-copy check (which copies only blocks that differ, and nothing when
// the versions and checksums already match).
func (r *replicator) start() {
	for _, cs := range r.e.snapshotStates() {
		cs.mu.RLock()
		peers, mode := slices.Clone(cs.replicas), cs.replMode
		cs.mu.RUnlock()
		r.replicasChanged(cs.id, nil, peers, mode)
	}
	// Consumers of peers no chunk is replicated to any more would hold the
	// journal back for nothing.
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range r.e.j.Consumers() {
		id, ok := strings.CutPrefix(name, consumerPrefix)
		if ok && r.senders[id] == nil {
			if err := r.e.j.DropConsumer(name); err != nil && !errors.Is(err, journal.ErrUnknownConsumer) {
				r.log.Warn("drop unused replication consumer", "consumer", name, "err", err)
			}
		}
	}
}

// replicasChanged updates the senders after chunk's replica list went from
// old to new, shipped in mode.
func (r *replicator) replicasChanged(chunk uint64, old, new []Peer, mode ReplMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	for _, p := range old {
		if !slices.ContainsFunc(new, func(q Peer) bool { return q.ID == p.ID }) {
			if s := r.senders[p.ID]; s != nil && s.untrack(chunk) == 0 {
				r.stopSenderLocked(s)
			}
		}
	}
	version := r.e.versionOf(chunk)
	fresh := version == 0
	for _, p := range new {
		s := r.senders[p.ID]
		fresh := fresh && s != nil // a new sender's journal consumer starts later: it may miss the first writes
		if s == nil {
			s = newSender(r.ctx, r, p)
			r.senders[p.ID] = s
			r.wg.Add(1)
			go func() { defer r.wg.Done(); s.run() }()
		}
		s.setAddr(p.Addr)
		s.track(chunk, mode, fresh, version)
	}
}

// chunkDeleted forgets chunk in every sender.
func (r *replicator) chunkDeleted(chunk uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	for _, s := range r.senders {
		if s.untrack(chunk) == 0 {
			r.stopSenderLocked(s)
		}
	}
}

// stopSenderLocked stops a sender that has no chunks left and drops its
// journal consumer, so it no longer holds segments back.
func (r *replicator) stopSenderLocked(s *sender) {
	delete(r.senders, s.peerID)
	s.stop()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		<-s.done
		if err := r.e.j.DropConsumer(s.consumer); err != nil && !errors.Is(err, journal.ErrUnknownConsumer) {
			r.log.Warn("drop replication consumer", "peer", s.peerID, "err", err)
		}
	}()
}

// overLimit is the journal's OverLimit hook: the consumer of a replica
// that fell too far behind is dropped (off the appending goroutine); its
// sender will bring the replica back with full copies.
func (r *replicator) overLimit(consumer string, size int64) {
	if !strings.HasPrefix(consumer, consumerPrefix) {
		return
	}
	r.log.Warn("journal over its size limit: dropping the replica that holds it back; it will get full copies",
		"consumer", consumer, "journal_bytes", size)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.e.j.DropConsumer(consumer); err != nil && !errors.Is(err, journal.ErrUnknownConsumer) {
			r.log.Error("drop replication consumer", "consumer", consumer, "err", err)
		}
	}()
}

// enforceLimit drops the slowest replication consumer while the journal
// is over its size limit because of it. The journal's own OverLimit only
// fires on appends; this runs after every checkpoint too, so a consumer
// that holds the journal after writes stopped is caught as well.
func (r *replicator) enforceLimit() {
	limit, j := r.e.cfg.JournalSizeLimit, r.e.j
	if limit <= 0 || j.Size() <= limit {
		return
	}
	released := j.Released()
	r.mu.Lock()
	defer r.mu.Unlock()
	var slow *sender
	var slowPos journal.LSN
	for _, s := range r.senders {
		cur := s.cur.Load()
		if cur == nil {
			continue
		}
		if pos := cur.Position(); pos < released && (slow == nil || pos < slowPos) {
			slow, slowPos = s, pos
		}
	}
	if slow == nil || r.ctx.Err() != nil {
		return
	}
	r.log.Warn("journal over its size limit: dropping the replica that holds it back; it will get full copies",
		"consumer", slow.consumer, "journal_bytes", j.Size())
	if err := j.DropConsumer(slow.consumer); err != nil && !errors.Is(err, journal.ErrUnknownConsumer) {
		r.log.Error("drop replication consumer", "consumer", slow.consumer, "err", err)
	}
}

// conn returns a (shared, lazily connecting) client connection to addr,
// over the cluster's TLS when configured.
func (r *replicator) conn(addr string) (*grpc.ClientConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.conns[addr]; c != nil {
		return c, nil
	}
	c, err := msgrpc.Dial(addr, r.e.cfg.peerCreds())
	if err != nil {
		return nil, err
	}
	r.conns[addr] = c
	return c, nil
}

// info describes the replicas of chunk, for ChunkInfo.
func (r *replicator) info(chunk uint64) []ReplicaInfo {
	senders := r.sendersNow()
	var out []ReplicaInfo
	for _, s := range senders {
		if ri, ok := s.info(chunk); ok {
			out = append(out, ri)
		}
	}
	slices.SortFunc(out, func(a, b ReplicaInfo) int { return strings.Compare(a.Peer.ID, b.Peer.ID) })
	return out
}

// peerStats describes every sender, for Stat.
func (r *replicator) peerStats() []PeerStat {
	senders := r.sendersNow()
	out := make([]PeerStat, 0, len(senders))
	for _, s := range senders {
		out = append(out, s.stat())
	}
	slices.SortFunc(out, func(a, b PeerStat) int { return strings.Compare(a.Peer.ID, b.Peer.ID) })
	return out
}

// close stops every sender and closes the connections.
func (r *replicator) close() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = map[string]*grpc.ClientConn{}
}

// versionOf is chunk's version here; 0 if it has never been written here
// (a replica added now needs no full-copy check, the stream brings it
// every version).
func (e *engine) versionOf(chunk uint64) uint64 {
	cs := e.lookup(chunk)
	if cs == nil {
		return 0
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if !cs.exists() {
		return 0
	}
	return max(cs.version, 1) // a chunk being copied in exists at version 0
}

// sendersNow returns the senders as they are now; they are used without
// r.mu, which a sender's own lock must not be taken under.
func (r *replicator) sendersNow() []*sender {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*sender, 0, len(r.senders))
	for _, s := range r.senders {
		out = append(out, s)
	}
	return out
}
