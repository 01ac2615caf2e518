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
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	theirs, err := msgrpc.Invoke[ChunkReq, Checksums](cctx, ss.conn, ServiceName, "Checksums", &ChunkReq{Chunk: chunk})
	cancel()
	if err != nil {
		return err
	}
	plan, err := s.r.e.copyPlan(ctx, chunk, theirs)
	if err != nil {
		return err
	}
	if plan == nil {
		s.mu.Lock()
		if st := s.chunks[chunk]; st != nil {
			st.resync, st.sent = false, 0
		}
		s.mu.Unlock()
		return nil
	}
	var copied int64
	if !plan.confirm {
		ss.bb.add(&Mutation{Op: OpResyncBegin, Chunk: chunk, Version: plan.version, CRC: chunkstore.CRC(nil)})
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
	s.mu.Lock()
	if st := s.chunks[chunk]; st != nil {
		// Set before the batch leaves, so its ack cannot come first.
		st.sent, st.resync = plan.version, false
		st.copyVersion, st.copySeq = plan.version, ss.seq+1
	}
	if !plan.confirm {
		s.resyncs++
		s.copied += copied
	}
	s.mu.Unlock()
	if !plan.confirm {
		s.r.e.m.replResyncs.WithLabelValues(s.peerID).Inc()
		s.r.log.Info("full chunk copy to replica", "peer", s.peerID, "chunk", chunk,
			"version", plan.version, "blocks", len(plan.blocks), "bytes", copied)
	}
	return ss.flush(ctx, 0)
}
