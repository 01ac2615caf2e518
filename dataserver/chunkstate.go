package dataserver

import (
	"sync"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// chunkState is the engine's view of one chunk: what has been acknowledged
// (version, size, pending mutations) on top of what the chunk file holds
// (applied, durable mutations).
//
// Invariants (under mu):
//   - pending holds, in LSN order, every mutation of this chunk that was
//     appended to the journal but not yet applied to file; the same entries
//     are in the engine's apply queue in the same order.
//   - file's content + pending applied in order == the chunk at version,
//     of size size. file's Meta().Version is the applied version.
//   - lastLSN is the LSN of the chunk's latest journal record.
//   - once deleted is set no mutation is accepted; the state leaves the
//     engine's map when the delete is applied.
type chunkState struct {
	id uint64
	mu sync.RWMutex

	file      *chunkstore.Chunk // nil until first needed; its data file is opened by the store on demand
	version   uint64
	size      int64
	epoch     uint64 // highest lease epoch seen
	lease     Lease  // current lease; Holder == "" means none
	replicas  []Peer
	replMode  ReplMode
	owner     ChunkOwner
	target    int         // copies the policy asks for; 0: unknown
	marks     changeMarks // recent versions, for lag reports (primary only)
	data      dataBlocks  // blocks that hold data (datablocks.go)
	resyncing bool        // replica side: a full copy is under way
	deleted   bool
	lastLSN   journal.LSN
	pending   []pendingMut
	dirty     bool // file changed since the last checkpoint snapshot

	// unjournaled counts the direct appends at the end of pending that
	// have no journal record yet (see append.go); pendingCuts the pending
	// mutations that may cut the chunk file (truncations, full copies),
	// which direct appends must not race.
	unjournaled int
	pendingCuts int
	// lastCutLSN is the journal record of the chunk's latest cut (see
	// Op.cuts). Direct appends wait until a checkpoint covers it: replay
	// starts after the checkpoint, and replaying a cut again after a later
	// append was written to the file would cut off the appended data,
	// which the journal does not have.
	lastCutLSN journal.LSN

	// allocated marks blocks reserved on disk by Chunk.Allocate, so that
	// rewrites of the same blocks skip the fallocate call.
	allocated []uint64
}

// pendingMut is one accepted, not yet applied mutation and the chunk
// version it produced.
type pendingMut struct {
	lsn     journal.LSN
	version uint64
	m       *Mutation
}

// patch applies the data-visible effect of pending mutations to buf, which
// holds the applied bytes at off.
func (cs *chunkState) patch(buf []byte, off int64) {
	end := off + int64(len(buf))
	for _, p := range cs.pending {
		m := p.m
		switch m.Op {
		case OpWrite, OpResyncData, OpAppend:
			lo, hi := max(off, m.Offset), min(end, m.end())
			if lo < hi {
				copy(buf[lo-off:hi-off], m.Data[lo-m.Offset:hi-m.Offset])
			}
		case OpTruncate, OpResyncEnd:
			if n := int64(m.Arg); n < end {
				clear(buf[max(n, off)-off:])
			}
		case OpPatch:
			overlayPatch(buf, off, m)
		}
	}
}

// durableVersion is the version of the chunk's latest durable mutation,
// given the journal's durable LSN.
func (cs *chunkState) durableVersion(durable journal.LSN) uint64 {
	for i := len(cs.pending) - 1; i >= 0; i-- {
		if lsn := cs.pending[i].lsn; lsn != 0 && lsn <= durable { // 0: an unjournaled append
			return cs.pending[i].version
		}
	}
	if cs.file != nil {
		return cs.file.Meta().Version
	}
	return 0
}

// blockRange returns the blocks [first, last] covering [off, off+n).
func blockRange(off, n int64) (int64, int64) {
	return off / chunkstore.BlockSize, (off + n - 1) / chunkstore.BlockSize
}

// needsAllocation reports whether any block in [off, off+n) has not been
// reserved yet.
func (cs *chunkState) needsAllocation(off, n int64) bool {
	first, last := blockRange(off, n)
	for b := first; b <= last; b++ {
		w := int(b / 64)
		if w >= len(cs.allocated) || cs.allocated[w]&(1<<(b%64)) == 0 {
			return true
		}
	}
	return false
}

// markAllocated records that [off, off+n) is reserved.
func (cs *chunkState) markAllocated(off, n int64) {
	first, last := blockRange(off, n)
	for b := first; b <= last; b++ {
		w := int(b / 64)
		for w >= len(cs.allocated) {
			cs.allocated = append(cs.allocated, 0)
		}
		cs.allocated[w] |= 1 << (b % 64)
	}
}

// forgetAllocation drops the reservations of blocks wholly past off (a
// truncation to off frees them).
func (cs *chunkState) forgetAllocation(off int64) {
	first := (off + chunkstore.BlockSize - 1) / chunkstore.BlockSize
	for b := first; b < int64(len(cs.allocated))*64; b++ {
		cs.allocated[b/64] &^= 1 << (b % 64)
	}
}
