package dataserver

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/lis-fs/lis/metaservice/registry"
)

// The census is one pass, per heartbeat, over the chunks this dataserver
// is the primary of (those whose owner the metaservice named): for each,
// what each replica lacks (changemarks.go) and what exists nowhere else.
// Its result travels in the heartbeat to the registry, where lis status
// reads it; so a status call costs no scan of chunks, and its figures
// are at most a heartbeat old when they reach the registry.

// censusRates remembers the last census's shipped-byte total, so that the
// next one can tell the replication rate. Only the heartbeat loop uses it.
type censusRates struct {
	mu   sync.Mutex
	wire int64
	at   time.Time
}

// censusTally accumulates one census.
type censusTally struct {
	senders map[string]*sender
	peers   map[string]*registry.PeerLag
	danger  registry.Danger
}

// census counts, now, what lags and what is in danger among the watched
// chunks (watchset.go), and updates the matching metrics.
func (s *Server) census(now time.Time) ([]registry.PeerLag, registry.Danger, int64) {
	t := &censusTally{senders: map[string]*sender{}, peers: map[string]*registry.PeerLag{}}
	var wire int64
	for _, snd := range s.repl.sendersNow() {
		p := snd.lagBase()
		t.senders[p.ID], t.peers[p.ID] = snd, &p
		wire += p.WireBytes
	}
	for id := range s.e.watch.take() {
		if cs := s.e.lookup(id); cs != nil && !t.chunk(cs, now) {
			s.e.watch.add(id)
		}
	}
	peers := t.peerList()
	s.e.m.setCensus(peers, t.danger, now)
	return peers, t.finish(), s.rate(wire, now)
}

// lagBase returns the sender's peer figures, before the census counts
// what lags there.
func (s *sender) lagBase() registry.PeerLag {
	s.mu.Lock()
	defer s.mu.Unlock()
	return registry.PeerLag{ID: s.peerID, Connected: s.connected, RawBytes: s.rawBytes,
		WireBytes: s.wireBytes, LastError: s.lastErr}
}

// ackedOf is the version chunk's copy on s's peer acknowledged (0 if the
// sender does not track it yet).
func (s *sender) ackedOf(chunk uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.chunks[chunk]; st != nil {
		return st.acked
	}
	return 0
}

// copyView is what the census reads of a chunk under its lock.
type copyView struct {
	dc       registry.DangerChunk
	version  uint64
	replicas []Peer
	marks    changeMarks
}

// chunk counts cs and reports whether it is settled: this dataserver is
// not its primary, or every copy holds its version (the census then
// stops watching it until it changes).
func (t *censusTally) chunk(cs *chunkState, now time.Time) bool {
	v, ok := viewCopies(cs)
	if !ok {
		return true
	}
	dc := v.dc
	for _, p := range v.replicas {
		var acked uint64
		if snd := t.senders[p.ID]; snd != nil {
			acked = snd.ackedOf(cs.id)
		}
		l := v.marks.behind(acked, v.version, dc.Size)
		if acked >= v.version {
			dc.Current++
		} else {
			addLag(t.peer(p.ID), l, now)
		}
		if l.bytes < dc.Bytes || acked >= v.version {
			dc.Bytes, dc.Oldest = l.bytes, l.since
		}
	}
	t.addDanger(dc)
	settled := len(v.replicas) > 0 && dc.Current == dc.Copies
	if settled {
		cs.settle(v.version)
	}
	return settled
}

// viewCopies reads cs, if this dataserver is its primary.
func viewCopies(cs *chunkState) (copyView, bool) {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.owner == (ChunkOwner{}) || cs.deleted || !cs.exists() {
		return copyView{}, false
	}
	v := copyView{version: cs.version, replicas: cs.replicas, marks: changeMarks{total: cs.marks.total}}
	v.marks.marks = append([]changeMark(nil), cs.marks.marks...)
	v.dc = registry.DangerChunk{Ino: cs.owner.Ino, Index: cs.owner.Index, Chunk: cs.id, Size: cs.size,
		Copies: 1 + len(cs.replicas), Current: 1, Target: cs.target, Bytes: cs.size, Oldest: cs.marks.first()}
	return v, true
}

// settle forgets cs's marks if it is still at version: every copy has it.
func (cs *chunkState) settle(version uint64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.version == version {
		cs.marks.reset()
	}
}

// first is when the oldest remembered change was made (0: none).
func (c *changeMarks) first() int64 {
	if len(c.marks) == 0 {
		return 0
	}
	return c.marks[0].at
}

func (t *censusTally) peer(id string) *registry.PeerLag {
	p := t.peers[id]
	if p == nil {
		p = &registry.PeerLag{ID: id}
		t.peers[id] = p
	}
	return p
}

func (t *censusTally) peerList() []registry.PeerLag {
	out := make([]registry.PeerLag, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b registry.PeerLag) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// addLag counts one chunk that lags on p's peer. A lag of unknown age
// counts from now: it is at least that old.
func addLag(p *registry.PeerLag, l lag, now time.Time) {
	if l.since == 0 {
		l.since = now.UnixNano()
	}
	p.Chunks++
	p.Bytes += l.bytes
	if p.Oldest == 0 || l.since < p.Oldest {
		p.Oldest = l.since
	}
}

// worse orders endangered chunks: most bytes only here first, then the
// fewest current copies short of target.
func worse(a, b registry.DangerChunk) int {
	if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
		return c
	}
	return cmp.Compare(a.Current-a.Target, b.Current-b.Target)
}

// add counts dc if it is endangered, keeping only the worst few named
// (sorted and cut whenever the list grows past four times the bound).
func (t *censusTally) addDanger(dc registry.DangerChunk) {
	if !dc.Endangered() {
		return
	}
	d := &t.danger
	if dc.Bytes > 0 {
		d.Chunks++
		d.Bytes += dc.Bytes
	}
	if dc.Target > 0 && dc.Current < dc.Target {
		d.Under++
	}
	d.Top = append(d.Top, dc)
	if len(d.Top) > 4*registry.MaxDangerChunks {
		t.cutTop()
	}
}

func (t *censusTally) cutTop() {
	slices.SortFunc(t.danger.Top, worse)
	t.danger.Top = t.danger.Top[:min(len(t.danger.Top), registry.MaxDangerChunks)]
}

// finish returns the danger report with its worst chunks in order.
func (t *censusTally) finish() registry.Danger {
	t.cutTop()
	return t.danger
}

// rate returns the replication bytes per second on the wire since the
// last census, given the total shipped so far.
func (s *Server) rate(wire int64, now time.Time) int64 {
	r := &s.rates
	r.mu.Lock()
	defer r.mu.Unlock()
	var out int64
	if el := now.Sub(r.at); !r.at.IsZero() && el > 0 && wire >= r.wire {
		out = int64(float64(wire-r.wire) / el.Seconds())
	}
	r.wire, r.at = wire, now
	return out
}

// fillLag tells, for each replica of chunk, what it lacks.
func (e *engine) fillLag(chunk uint64, replicas []ReplicaInfo) {
	cs := e.lookup(chunk)
	if cs == nil {
		return
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	for i := range replicas {
		r := &replicas[i]
		l := cs.marks.behind(r.AckedVersion, cs.version, cs.size)
		r.BehindBytes, r.BehindSince = l.bytes, l.since
	}
}
