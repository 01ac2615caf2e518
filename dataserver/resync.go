package dataserver

import (
	"context"
	"slices"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// copyPlan is a full copy of one chunk to a peer, reduced to the blocks
// whose checksums differ from the peer's.
type copyPlan struct {
	version uint64
	size    int64
	blocks  []copyBlock
	confirm bool // the peer already holds this version: nothing to copy
}

type copyBlock struct {
	off  int64
	data []byte
}

// copyPlan snapshots chunk id at its current version and lists the blocks
// the peer (whose state is theirs) lacks. Only durable state may leave this
// dataserver (a crash could otherwise leave the peer ahead of us with a
// version we later reuse), so the chunk's journal records are synced first,
// under the chunk lock so that the snapshot is exactly that state. A nil
// plan means there is nothing to copy (the chunk is gone or empty).
func (e *engine) copyPlan(ctx context.Context, id uint64, theirs *Checksums) (*copyPlan, error) {
	cs := e.lookup(id)
	if cs == nil {
		return nil, nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.deleted || !cs.exists() {
		return nil, nil
	}
	if cs.resyncing {
		return nil, errChunk(id, syscall.EAGAIN, "cannot copy a chunk that is itself being copied")
	}
	if err := e.flushAppendsLocked(cs); err != nil {
		return nil, err
	}
	if err := e.j.Sync(ctx, cs.lastLSN); err != nil {
		return nil, err
	}
	crcs, err := e.currentCRCs(cs)
	if err != nil {
		return nil, err
	}
	p := &copyPlan{version: cs.version, size: cs.size}
	if theirs.Exists && !theirs.Resyncing && theirs.Version == p.version && theirs.Size == p.size && slices.Equal(crcs, theirs.CRCs) {
		p.confirm = true
		return p, nil
	}
	// The peer's last block changes when its chunk is cut to our size in
	// the middle of a block; its checksum cannot tell, so send it.
	cutTail := theirs.Exists && theirs.Size > p.size && p.size%chunkstore.BlockSize != 0
	for b, ours := range crcs {
		their := chunkstore.ZeroBlockCRC
		if theirs.Exists && b < len(theirs.CRCs) {
			their = theirs.CRCs[b]
		}
		if ours == their && !(cutTail && b == len(crcs)-1) {
			continue
		}
		buf := make([]byte, chunkstore.BlockSize)
		if err := e.readBlock(cs, int64(b), buf); err != nil {
			return nil, err
		}
		off := int64(b) * chunkstore.BlockSize
		p.blocks = append(p.blocks, copyBlock{off: off, data: buf[:min(chunkstore.BlockSize, p.size-off)]})
	}
	return p, nil
}

// copyChunk brings the peer's copy of chunk to our current version with a
// full copy of the blocks that differ (ResyncBegin, ResyncData..,
// ResyncEnd, in the stream like any batch), or just a confirmation when the
// peer already has it. From then on the stream continues with the next
// version.
func (ss *session) copyChunk(ctx context.Context, chunk uint64) error {
	s := ss.s
	s.mu.Lock()
	st := s.chunks[chunk]
	due := st != nil && st.resync
	s.mu.Unlock()
	if !due {
		return nil
	}
	theirs, plan, err := ss.plan(ctx, chunk)
	if err != nil || plan == nil {
		return err
	}
	return ss.sendCopy(ctx, chunk, plan, theirs)
}

// sendBatch sends a lazy chunk's batch: the blocks in which the peer's
// copy differs from ours, as one patch when the peer holds an older
// consistent version and the difference is at most maxPatchBytes, else as
// a full copy (or a confirmation, when there is no difference).
func (ss *session) sendBatch(ctx context.Context, chunk uint64) error {
	theirs, plan, err := ss.plan(ctx, chunk)
	if err != nil || plan == nil {
		return err
	}
	if plan.confirm || theirs.Resyncing || theirs.Version >= plan.version || plan.bytes() > maxPatchBytes {
		return ss.sendCopy(ctx, chunk, plan, theirs)
	}
	data := encodePatch(plan.blocks)
	ss.bb.add(&Mutation{Op: OpPatch, Chunk: chunk, Version: plan.version, Offset: int64(theirs.Version),
		Arg: uint64(plan.size), CRC: chunkstore.CRC(data), Data: data})
	ss.s.copySent(chunk, plan.version, ss.seq+1)
	ss.s.r.log.Debug("lazy batch to replica", "peer", ss.s.peerID, "chunk", chunk,
		"from", theirs.Version, "to", plan.version, "bytes", len(data))
	return ss.flush(ctx, 0)
}

// plan asks the peer for its checksums of chunk and plans the copy that
// brings it to our version. A nil plan means there is nothing to copy:
// the chunk is forgotten by the sender until it changes again.
func (ss *session) plan(ctx context.Context, chunk uint64) (*Checksums, *copyPlan, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	theirs, err := msgrpc.Invoke[ChunkReq, Checksums](cctx, ss.conn, ServiceName, "Checksums", &ChunkReq{Chunk: chunk})
	cancel()
	if err != nil {
		return nil, nil, err
	}
	plan, err := ss.s.r.e.copyPlan(ctx, chunk, theirs)
	if err != nil || plan != nil {
		return theirs, plan, err
	}
	s := ss.s
	s.mu.Lock()
	if st := s.chunks[chunk]; st != nil {
		st.resync, st.sent, st.want = false, 0, 0
		s.cleanLocked(st)
	}
	s.mu.Unlock()
	return theirs, nil, nil
}

// sendCopy sends plan, made against the peer's state theirs, as a full
// copy (or a confirmation). The copy names the version it was planned
// against (Arg: that version + 1), so a peer that has moved since (a
// batch still in flight when the plan was made) refuses it as a gap
// instead of taking only the blocks that differed from a state it no
// longer has: the sender plans again.
func (ss *session) sendCopy(ctx context.Context, chunk uint64, plan *copyPlan, theirs *Checksums) error {
	var copied int64
	if !plan.confirm {
		var base uint64
		if !theirs.Resyncing {
			base = theirs.Version + 1
		}
		ss.bb.add(&Mutation{Op: OpResyncBegin, Chunk: chunk, Version: plan.version, Arg: base, CRC: chunkstore.CRC(nil)})
		for _, b := range plan.blocks {
			ss.bb.add(&Mutation{Op: OpResyncData, Chunk: chunk, Version: plan.version, Offset: b.off,
				CRC: chunkstore.CRC(b.data), Data: b.data})
			copied += int64(len(b.data))
			if ss.bb.len() >= ss.limit {
				if err := ss.flush(ctx, 0); err != nil {
					return err
				}
			}
		}
	}
	ss.bb.add(&Mutation{Op: OpResyncEnd, Chunk: chunk, Version: plan.version, Arg: uint64(plan.size), CRC: chunkstore.CRC(nil)})
	s := ss.s
	s.copySent(chunk, plan.version, ss.seq+1)
	if !plan.confirm {
		s.mu.Lock()
		s.resyncs++
		s.copied += copied
		s.mu.Unlock()
		s.r.e.m.replResyncs.WithLabelValues(s.peerID).Inc()
		s.r.log.Info("full chunk copy to replica", "peer", s.peerID, "chunk", chunk,
			"version", plan.version, "blocks", len(plan.blocks), "bytes", copied)
	}
	return ss.flush(ctx, 0)
}

// copySent records that the batch seq carries chunk's copy (full or a
// patch) up to version. Called before the batch leaves, so that its ack
// cannot come first.
func (s *sender) copySent(chunk, version, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.chunks[chunk]; st != nil {
		st.sent, st.resync = version, false
		st.copyVersion, st.copySeq = version, seq
		s.cleanLocked(st)
	}
}

// bytes is how much block data the plan copies.
func (p *copyPlan) bytes() int64 {
	var n int64
	for _, b := range p.blocks {
		n += int64(len(b.data))
	}
	return n
}
