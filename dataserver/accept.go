package dataserver

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/journal"
)

// accept journals m, queues it for the applier and makes it visible in cs.
// The caller holds cs.mu exclusively and has checked m against cs (version,
// lease, state). When accept returns nil the mutation is acknowledged: it
// is in the journal (not yet durable) and every later read sees it.
func (e *engine) accept(cs *chunkState, m *Mutation) (journal.LSN, error) {
	// The chunk's direct appends come first in the journal.
	if err := e.flushAppendsLocked(cs); err != nil {
		return 0, err
	}
	if err := e.reserve(cs, m, true); err != nil {
		return 0, err
	}
	enc := m.encodeFramed()
	e.appendMu.Lock()
	lsn, err := e.j.Append(enc)
	if err == nil {
		e.q.push(queued{lsn: lsn, cs: cs, m: m})
	}
	e.appendMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("chunk %x: journal %s: %w", cs.id, m.Op, err)
	}
	oldSize := cs.size
	advanceState(cs, m)
	e.watchPrimary(cs)
	if m.Op == OpResyncEnd || m.Op == OpDelete {
		e.damaged.forget(cs.id) // rewritten whole, or gone
	}
	e.logical.Add(cs.size - oldSize)
	cs.lastLSN = lsn
	cs.pending = append(cs.pending, pendingMut{lsn: lsn, version: cs.version, m: m})
	if m.Op.cuts() {
		cs.pendingCuts++
		cs.lastCutLSN = lsn
	}
	return lsn, nil
}

// advanceState moves cs's acknowledged state past m.
func advanceState(cs *chunkState, m *Mutation) {
	cs.noteData(m)
	switch m.Op {
	case OpWrite, OpResyncData, OpAppend:
		cs.size = max(cs.size, m.end())
	case OpTruncate:
		cs.size = int64(m.Arg)
		cs.forgetAllocation(cs.size)
	case OpResyncBegin:
		cs.resyncing = true
	case OpResyncEnd:
		cs.size = int64(m.Arg)
		cs.forgetAllocation(cs.size)
		cs.resyncing = false
	case OpPatch:
		cs.size = int64(m.Arg)
		cs.forgetAllocation(cs.size)
	case OpDelete:
		cs.deleted = true
		cs.size = 0
	case OpLease:
		cs.epoch = max(cs.epoch, m.Arg)
	case OpReplicas:
		r := decodeReplicas(m.Data)
		cs.replicas, cs.replMode, cs.owner, cs.target = r.Replicas, r.Mode, r.Owner, r.Target
	}
	if m.Op.bumpsVersion() {
		cs.version = m.Version
		if cs.owner != (ChunkOwner{}) { // only a primary's lag is told
			cs.marks.note(m.Version, writtenBytes(m), time.Now())
		}
	}
}

// reserve makes sure applying m later cannot run out of space: the quota
// and the free space are checked and, when preallocate is set, the blocks
// m writes are preallocated. Errors wrap ENOSPC. A direct append needs no
// preallocation: its data is written at once, and a filesystem out of
// space fails that write.
func (e *engine) reserve(cs *chunkState, m *Mutation, preallocate bool) error {
	if m.Op == OpPatch {
		return e.reservePatch(cs, m)
	}
	if m.Op != OpWrite && m.Op != OpResyncData {
		return nil
	}
	n := int64(len(m.Data))
	if c := e.cfg.Capacity; c > 0 {
		growth := max(0, m.end()-cs.size)
		if used := e.logical.Load() + e.j.Size(); used+growth+n > c {
			return errChunk(cs.id, syscall.ENOSPC, "write of %d bytes: %d of %d bytes used", n, used, c)
		}
	}
	// A journaled write reaches the disk twice: in the journal, and in
	// the chunk file where its blocks are new.
	alloc := preallocate && cs.needsAllocation(m.Offset, n)
	need := n
	if alloc {
		need += n
	}
	if err := e.space.take(need); err != nil {
		return fmt.Errorf("chunk %x: %w", cs.id, err)
	}
	if !alloc {
		return nil
	}
	f, err := e.openFile(cs)
	if err != nil {
		return err
	}
	if err := f.Allocate(m.Offset, n); err != nil {
		return err
	}
	cs.markAllocated(m.Offset, n)
	return nil
}

// encodeReplicas and decodeReplicas are the OpReplicas payload: one
// "id=addr" line per peer, then a "#mode" line unless the mode is
// ReplPriority (which lists written before modes existed have, read as),
// a "#at=INO/INDEX" line when the chunk's owner is known, and a
// "#target=N" line when the copies its policy asks for are.
func encodeReplicas(req *SetReplicasReq) []byte {
	var b strings.Builder
	for _, p := range req.Replicas {
		b.WriteString(p.ID + "=" + p.Addr + "\n")
	}
	if req.Mode != ReplPriority {
		b.WriteString("#" + req.Mode.String() + "\n")
	}
	if o := req.Owner; o != (ChunkOwner{}) {
		fmt.Fprintf(&b, "#at=%d/%d\n", o.Ino, o.Index)
	}
	if req.Target > 0 {
		fmt.Fprintf(&b, "#target=%d\n", req.Target)
	}
	return []byte(b.String())
}

func decodeReplicas(b []byte) SetReplicasReq {
	var out SetReplicasReq
	for _, line := range replicaLines(b) {
		name, ok := strings.CutPrefix(line, "#")
		switch {
		case !ok:
			if id, addr, ok := strings.Cut(line, "="); ok {
				out.Replicas = append(out.Replicas, Peer{ID: id, Addr: addr})
			}
		case strings.HasPrefix(name, "at="):
			fmt.Sscanf(name, "at=%d/%d", &out.Owner.Ino, &out.Owner.Index)
		case strings.HasPrefix(name, "target="):
			fmt.Sscanf(name, "target=%d", &out.Target)
		default:
			if i := slices.Index(replModeNames[:], name); i >= 0 {
				out.Mode = ReplMode(i)
			}
		}
	}
	return out
}

// replicaLines splits an OpReplicas payload into the lines the chunk
// sidecar keeps.
func replicaLines(b []byte) []string {
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}
