package dataserver

import (
	"fmt"

	"github.com/lis-fs/lis/journal"
)

// replOutcome is what applying one replicated mutation did to its chunk:
// the chunk's version afterwards, the LSN to sync for that version to be
// durable, and whether the mutation could not be applied in order (gap).
type replOutcome struct {
	version uint64
	lsn     journal.LSN
	gap     bool
	refused bool // this dataserver is the chunk's primary
}

// applyReplicated accepts one mutation from a primary's replication
// stream: no lease is needed, the primary's order is the order. A write or
// truncate applies only to the version just before it, so the chunk is
// always a version the primary had: an old one is a duplicate (skipped) and
// a newer one is a gap (skipped, reported: the sender then makes a full
// copy). A patch applies only to its base version. A dataserver that is
// the chunk's primary refuses the stream outright. Full-copy mutations (OpResync*) hide the chunk from readers until
// the copy ends.
func (e *engine) applyReplicated(m *Mutation) (replOutcome, error) {
	if err := e.usable(); err != nil {
		return replOutcome{}, err
	}
	cs := e.getOrCreate(m.Chunk)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := replOutcome{version: cs.version, lsn: cs.lastLSN}
	if cs.owner != (ChunkOwner{}) {
		// The metaservice made this dataserver the chunk's primary: a
		// stream for it comes from a primary that was replaced (a
		// returning one, after a failover), whose versions may be ones
		// no copy should ever hold.
		out.refused = true
		return out, nil
	}
	switch m.Op {
	case OpWrite, OpTruncate:
		switch {
		case cs.deleted || cs.resyncing || m.Version > cs.version+1:
			out.gap = true
			return out, nil
		case m.Version <= cs.version:
			return out, nil
		}
	case OpPatch:
		switch {
		case m.Version <= cs.version && !cs.resyncing && !cs.deleted:
			return out, nil // already there
		case cs.deleted || cs.resyncing || cs.version != uint64(m.Offset):
			out.gap = true // not the base the patch was made against
			return out, nil
		}
	case OpResyncBegin:
		if cs.deleted || m.Arg != 0 && (cs.resyncing || cs.version != m.Arg-1) {
			out.gap = true // not the state the copy was planned against
			return out, nil
		}
	case OpResyncEnd:
		if !cs.resyncing && !cs.deleted && m.Version == cs.version && int64(m.Arg) == cs.size {
			return out, nil // a copy that found nothing to copy: confirms the version
		}
		if !cs.resyncing || cs.deleted {
			out.gap = true
			return out, nil
		}
	case OpResyncData:
		if !cs.resyncing || cs.deleted {
			out.gap = true
			return out, nil
		}
	default:
		return out, fmt.Errorf("chunk %x: %s cannot be replicated: %w", m.Chunk, m.Op, errBadMutation)
	}
	before := cs.version
	lsn, err := e.accept(cs, m)
	if err != nil {
		return out, err
	}
	if hook := e.replicaApplied.Load(); hook != nil {
		(*hook)(m, before)
	}
	return replOutcome{version: cs.version, lsn: lsn}, nil
}
