package dataserver

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// write is the client write path: checks, journal append, ack. The
// mutation reaches the chunk file later (applier); reads see it at once.
func (e *engine) write(ctx context.Context, req *WriteReq) (*WriteResp, error) {
	if err := e.checkWriteReq(req); err != nil {
		return nil, err
	}
	m := &Mutation{Op: OpWrite, Chunk: req.Chunk, Offset: req.Offset, CRC: req.CRC, Data: req.Data, frame: req.frame, pieces: req.pieces}
	return e.mutate(ctx, m, req.ExpectedVersion, req.AnyVersion, req.Sync)
}

// checkWriteReq checks a client write's bounds and, unless it is trusted,
// its checksum, which leaves the checksums of its pieces in req.pieces for
// the apply.
func (e *engine) checkWriteReq(req *WriteReq) error {
	n := int64(len(req.Data))
	switch {
	case n == 0:
		return errChunk(req.Chunk, syscall.EINVAL, "empty write")
	case n > int64(e.cfg.MaxWrite):
		return errChunk(req.Chunk, syscall.E2BIG, "write of %d bytes exceeds %d", n, e.cfg.MaxWrite)
	case req.Offset < 0:
		return errChunk(req.Chunk, syscall.EINVAL, "write at offset %d", req.Offset)
	case req.Offset > e.cfg.ChunkSize-n:
		return errChunk(req.Chunk, syscall.EFBIG, "write at %d+%d past chunk size %d", req.Offset, n, e.cfg.ChunkSize)
	}
	if !req.trusted {
		var crc uint32
		req.pieces, crc = checksumPieces(req.pieces[:0], req.Data, req.Offset)
		if crc != req.CRC {
			return errChunk(req.Chunk, syscall.EBADMSG, "write data does not match its checksum")
		}
	}
	return nil
}

// truncate is the client truncate path.
func (e *engine) truncate(ctx context.Context, req *TruncateReq) (*WriteResp, error) {
	if req.Size < 0 || req.Size > e.cfg.ChunkSize {
		return nil, errChunk(req.Chunk, syscall.EFBIG, "truncate to %d (chunk size %d)", req.Size, e.cfg.ChunkSize)
	}
	m := &Mutation{Op: OpTruncate, Chunk: req.Chunk, Arg: uint64(req.Size), CRC: chunkstore.CRC(nil)}
	return e.mutate(ctx, m, req.ExpectedVersion, req.AnyVersion, req.Sync)
}

// mutate accepts a client's versioned mutation: it must hold the lease and
// name the current version; it gets the next one.
func (e *engine) mutate(ctx context.Context, m *Mutation, expected uint64, any, sync bool) (*WriteResp, error) {
	if err := e.usable(); err != nil {
		return nil, err
	}
	if err := e.q.waitRoom(ctx); err != nil {
		return nil, fmt.Errorf("chunk %x: %w", m.Chunk, err)
	}
	cs := e.getOrCreate(m.Chunk)
	cs.mu.Lock()
	if err := e.admitClient(cs, expected, any); err != nil {
		cs.mu.Unlock()
		return nil, err
	}
	switch {
	case e.appendable(cs, m):
		return e.appendDirect(ctx, cs, m, sync)
	case m.Op == OpWrite && cs.unjournaled > 0:
		return e.writeBehindAppends(ctx, cs, m, sync)
	}
	m.Version = cs.version + 1
	// Once cs.mu is released the applier may apply m and recycle its
	// frame: take what is needed from m now.
	op, n := m.Op, len(m.Data)
	lsn, err := e.accept(cs, m)
	resp := &WriteResp{Version: cs.version, Size: cs.size, Blocks: cs.data.count()}
	cs.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.m.mutations.WithLabelValues(op.String()).Inc()
	e.m.writeBytes.Add(float64(n))
	if sync {
		if err := e.j.Sync(ctx, lsn); err != nil {
			return nil, fmt.Errorf("chunk %x: sync: %w", cs.id, err)
		}
		resp.Durable = true
	}
	return resp, nil
}

// admitClient checks that a client may mutate cs now. Caller holds cs.mu.
func (e *engine) admitClient(cs *chunkState, expected uint64, any bool) error {
	switch {
	case cs.deleted:
		return errChunk(cs.id, syscall.ENOENT, "deleted")
	case cs.resyncing:
		return errChunk(cs.id, syscall.EAGAIN, "a full copy from another dataserver is under way")
	}
	if err := e.checkLease(cs); err != nil {
		return err
	}
	if !any && expected != cs.version {
		return errChunk(cs.id, syscall.ESTALE, "expected version %d, chunk is at %d", expected, cs.version)
	}
	return nil
}

// read serves a read from the chunk file plus the pending mutations.
func (e *engine) read(req *ReadReq) (*ReadResp, error) {
	if req.Length < 0 || req.Length > int64(2*e.cfg.MaxWrite) {
		return nil, errChunk(req.Chunk, syscall.EINVAL, "read of %d bytes at %d", req.Length, req.Offset)
	}
	buf := make([]byte, req.Length)
	version, size, err := e.readInto(req.Chunk, req.Offset, buf)
	if err != nil {
		return nil, err
	}
	return &ReadResp{Data: buf, Version: version, Size: size}, nil
}

// readInto fills buf from off of a chunk (zeros in holes and past its
// end) and returns the version and size it read. The in-process client
// reads straight into the caller's buffer through it.
func (e *engine) readInto(chunk uint64, off int64, buf []byte) (uint64, int64, error) {
	if off < 0 || off > e.cfg.ChunkSize {
		return 0, 0, errChunk(chunk, syscall.EINVAL, "read of %d bytes at %d", len(buf), off)
	}
	cs := e.lookup(chunk)
	if cs == nil {
		return 0, 0, errChunk(chunk, syscall.ENOENT, "no such chunk")
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if err := e.readable(cs); err != nil {
		return 0, 0, err
	}
	if cs.file != nil {
		if err := cs.file.ReadAt(buf, off); err != nil {
			return 0, 0, err
		}
	} else {
		clear(buf)
	}
	cs.patch(buf, off)
	e.m.readBytes.Add(float64(len(buf)))
	return cs.version, cs.size, nil
}

// readable says whether cs holds a consistent version. Caller holds cs.mu.
func (e *engine) readable(cs *chunkState) error {
	switch {
	case cs.deleted || !cs.exists():
		return errChunk(cs.id, syscall.ENOENT, "no such chunk")
	case cs.resyncing:
		return errChunk(cs.id, syscall.EAGAIN, "a full copy from another dataserver is under way")
	}
	return nil
}

// exists: the chunk has been mutated at least once.
func (cs *chunkState) exists() bool { return cs.version > 0 || cs.resyncing }

// sync makes a chunk's (or every) acknowledged mutation durable.
func (e *engine) sync(ctx context.Context, req *SyncReq) (*SyncResp, error) {
	if req.All {
		if err := e.flushAll(); err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		if err := e.j.Sync(ctx, e.j.LastLSN()); err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		return &SyncResp{}, nil
	}
	cs := e.lookup(req.Chunk)
	if cs == nil {
		return &SyncResp{}, nil // nothing acknowledged, nothing to sync
	}
	cs.mu.RLock()
	v := cs.version
	cs.mu.RUnlock()
	if err := e.syncChunk(ctx, cs); err != nil {
		return nil, err
	}
	return &SyncResp{Version: v}, nil
}

// journalDelete journals a chunk's deletion (not synced) and hides the
// chunk at once. It returns the record's LSN, 0 when there was nothing to
// delete.
func (e *engine) journalDelete(id uint64, quarantine bool) (journal.LSN, error) {
	cs := e.lookup(id)
	if cs == nil {
		return 0, nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.deleted {
		return 0, nil
	}
	m := &Mutation{Op: OpDelete, Chunk: id, Version: cs.version, CRC: chunkstore.CRC(nil)}
	if quarantine {
		m.Arg = argQuarantine
	}
	lsn, err := e.accept(cs, m)
	if err != nil {
		return 0, err
	}
	// Before cs.mu is released: once it is, the delete may be applied and
	// a new incarnation of the chunk take appends (deletedAfter).
	e.mu.Lock()
	e.deletedAt[id] = lsn
	e.mu.Unlock()
	e.m.mutations.WithLabelValues(OpDelete.String()).Inc()
	return lsn, nil
}

// syncJournal makes the journal durable through lsn, a record of chunk.
func (e *engine) syncJournal(ctx context.Context, chunk uint64, lsn journal.LSN) error {
	if err := e.j.Sync(ctx, lsn); err != nil {
		return fmt.Errorf("chunk %x: sync: %w", chunk, err)
	}
	return nil
}

// info describes chunk id.
func (e *engine) info(id uint64) (*ChunkInfo, error) {
	cs := e.lookup(id)
	if cs == nil {
		return nil, errChunk(id, syscall.ENOENT, "no such chunk")
	}
	durable := e.j.DurableLSN()
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.deleted || !cs.exists() && cs.epoch == 0 && len(cs.replicas) == 0 {
		return nil, errChunk(id, syscall.ENOENT, "no such chunk")
	}
	ci := &ChunkInfo{Chunk: id, Version: cs.version, DurableVersion: cs.durableVersion(durable),
		Size: cs.size, Epoch: cs.epoch, Resyncing: cs.resyncing, Mode: cs.replMode}
	if cs.lease.Holder != "" {
		l := cs.lease
		ci.Lease = &l
	}
	return ci, nil
}

// checksums returns the block checksums of the chunk's current version:
// the stored ones when nothing is pending, else computed from a full read.
func (e *engine) checksums(id uint64) (*Checksums, error) {
	cs := e.lookup(id)
	if cs == nil {
		return &Checksums{}, nil
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.deleted || !cs.exists() {
		return &Checksums{}, nil
	}
	crcs, err := e.currentCRCs(cs)
	if err != nil {
		return nil, err
	}
	e.damaged.spoil(id, crcs)
	return &Checksums{Exists: true, Version: cs.version, Size: cs.size, Resyncing: cs.resyncing, CRCs: crcs}, nil
}

// currentCRCs computes cs's block checksums at its acknowledged version.
// Caller holds cs.mu.
func (e *engine) currentCRCs(cs *chunkState) ([]uint32, error) {
	if len(cs.pending) == 0 && cs.file != nil {
		return cs.file.CRCs()
	}
	n := (cs.size + chunkstore.BlockSize - 1) / chunkstore.BlockSize
	crcs := make([]uint32, n)
	buf := make([]byte, chunkstore.BlockSize)
	for b := range n {
		if err := e.readBlock(cs, b, buf); err != nil {
			return nil, err
		}
		crcs[b] = chunkstore.CRC(buf)
	}
	return crcs, nil
}

// readBlock reads block b of cs at its acknowledged version into buf
// (BlockSize bytes, zeros past the end). Caller holds cs.mu.
func (e *engine) readBlock(cs *chunkState, b int64, buf []byte) error {
	off := b * chunkstore.BlockSize
	clear(buf)
	if cs.file != nil {
		if err := cs.file.ReadAt(buf, off); err != nil {
			return err
		}
	}
	cs.patch(buf, off)
	if end := cs.size - off; end < int64(len(buf)) {
		clear(buf[max(end, 0):])
	}
	return nil
}

// stat describes the dataserver.
func (e *engine) stat() *Stat {
	st := &Stat{
		ID: e.cfg.ID, Site: e.cfg.Site, Region: e.cfg.Region,
		LogicalBytes: e.logical.Load(), JournalBytes: e.j.Size(),
		JournalFirst: uint64(e.j.FirstLSN()), JournalLast: uint64(e.j.LastLSN()),
		JournalDurable: uint64(e.j.DurableLSN()), Applied: e.applied.Load(),
		PendingBytes: e.q.pendingBytes(), ChecksumErrors: e.corrupt.Load(),
		OpenFiles: e.store.FileStats().Open, DirectAppends: e.appends.Load(),
	}
	if err := e.usable(); err != nil {
		st.ApplyError = err.Error()
		st.DiskFull = errors.Is(err, syscall.ENOSPC)
	}
	e.fillSpace(st)
	for _, cs := range e.snapshotStates() {
		cs.mu.RLock()
		if cs.exists() && !cs.deleted {
			st.Chunks++
		}
		cs.mu.RUnlock()
	}
	return st
}

// fillSpace sets st's capacity and free bytes: the filesystem's, bounded
// by the quota when there is one.
func (e *engine) fillSpace(st *Stat) {
	size, avail, err := e.space.usage()
	if err != nil {
		e.cfg.Logger.Warn("dataserver: free space", "err", err)
	}
	st.Capacity, st.Free = size, avail
	if q := e.cfg.Capacity; q > 0 {
		st.Capacity, st.Free = q, min(avail, max(0, q-st.LogicalBytes))
	}
}
