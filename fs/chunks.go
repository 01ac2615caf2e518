package fs

import (
	"context"
	"fmt"
	"syscall"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// chunkLoadBatch is how many chunk records one metaservice call fetches
// when reading: sequential reads then cost one lookup per 64 chunks.
const chunkLoadBatch = 64

// readable returns the chunk at index for reading, or nil for a hole.
func (f *FS) readable(ctx context.Context, of *openFile, idx uint32) (*chunkRef, error) {
	of.mu.Lock()
	ref, ok := of.chunks[idx]
	of.mu.Unlock()
	if ok {
		if ref.id == 0 {
			return nil, nil
		}
		return ref, nil
	}
	recs, err := f.meta.Chunks(ctx, of.ino, idx, idx+chunkLoadBatch)
	if err != nil {
		return nil, fmt.Errorf("chunks of inode %d: %w", of.ino, err)
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	for i := idx; i < idx+chunkLoadBatch; i++ {
		if _, known := of.chunks[i]; !known {
			of.chunks[i] = &chunkRef{}
		}
	}
	for _, r := range recs {
		if old := of.chunks[r.Index]; old.id == 0 {
			of.chunks[r.Index] = newChunkRef(&r.ChunkRecord, false)
		}
	}
	if ref = of.chunks[idx]; ref.id == 0 {
		return nil, nil
	}
	return ref, nil
}

// newChunkRef makes the client's reference to the chunk of record r;
// leased says r's lease is this client's dataserver's.
func newChunkRef(r *ms.ChunkRecord, leased bool) *chunkRef {
	ref := &chunkRef{id: uint64(r.ID), version: r.Version, primary: r.Primary, replicas: r.Replicas, mode: r.Mode}
	if leased {
		ref.leaseEpoch, ref.leaseExpiry = r.LeaseEpoch, r.LeaseExpiry
	}
	return ref
}

// writable returns the chunk at index with a write lease held by this
// client's dataserver, allocating the chunk and taking or renewing the
// lease as needed. The metaservice installs the lease on the dataserver;
// a lease held by another dataserver moves here once this one holds
// everything the other acknowledged (metaservice handover).
func (f *FS) writable(ctx context.Context, of *openFile, idx uint32) (*chunkRef, error) {
	now := time.Now().UnixNano()
	half := int64(f.opts.LeaseDuration / 2)
	of.mu.Lock()
	ref := of.chunks[idx]
	of.mu.Unlock()
	if ref != nil && ref.id != 0 && ref.leaseExpiry-now > half {
		return ref, nil
	}
	// Not cut short by an interrupt (ctx): allocation is quick, and a
	// caller interrupted all the time (Go's preemption signals) would
	// otherwise abandon allocations halfway. Taking a lease may wait long
	// (a holder that does not answer), so that call is.
	rec, err := f.meta.AllocChunk(f.op(), of.ino, idx, f.data.ID(), f.opts.LeaseDuration)
	if err != nil {
		return nil, fmt.Errorf("allocate chunk %d of inode %d: %w", idx, of.ino, err)
	}
	if rec.Primary != f.data.ID() || rec.LeaseExpiry-now <= half {
		if rec, err = f.acquireLease(ctx, of.ino, idx); err != nil {
			return nil, err
		}
	}
	return of.knowChunk(idx, rec), nil
}

// knowChunk records the chunk at idx, leased to this client's dataserver.
func (of *openFile) knowChunk(idx uint32, rec *ms.ChunkRecord) *chunkRef {
	ref := newChunkRef(rec, true)
	of.mu.Lock()
	of.chunks[idx] = ref
	of.mu.Unlock()
	return ref
}

// acquireLease takes the chunk's lease, waiting (with backoff, bounded by
// ctx and twice the lease duration) while it cannot move yet: another
// dataserver's lease is live and it does not answer, or no reachable copy
// is current. Past the bound the write fails with EIO.
func (f *FS) acquireLease(ctx context.Context, ino ms.Ino, idx uint32) (*ms.ChunkRecord, error) {
	wait := 10 * time.Millisecond
	deadline := time.Now().Add(2 * f.opts.LeaseDuration)
	for {
		rec, err := f.meta.AcquireLease(ctx, ino, idx, f.data.ID(), f.opts.LeaseDuration)
		switch {
		case err == nil:
			return rec, nil
		case !isErrno(err, syscall.EAGAIN):
			return nil, fmt.Errorf("lease chunk %d of inode %d: %w", idx, ino, err)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("lease chunk %d of inode %d: gave up after %s: %w: %w", idx, ino,
				2*f.opts.LeaseDuration, syscall.EIO, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
			wait = min(2*wait, time.Second)
		}
	}
}

// withLease runs mutate on the chunk at idx under this client's
// dataserver's lease. A dataserver that refuses it for want of a lease
// (EPERM: the lease moved to another dataserver since this client took
// it) makes the client take the lease again, once.
func (f *FS) withLease(ctx context.Context, of *openFile, idx uint32, mutate func(*chunkRef) error) error {
	for retry := 0; ; retry++ {
		ref, err := f.writable(ctx, of, idx)
		if err != nil {
			return err
		}
		err = mutate(ref)
		if !isErrno(err, syscall.EPERM) || retry > 0 {
			return err
		}
		of.mu.Lock()
		delete(of.chunks, idx)
		of.mu.Unlock()
	}
}

// writeAt writes data at off of the file, chunk by chunk. ctx bounds the
// waits (for a lease, for copies under replication: sync), not the
// writes: an interrupted writeAt may have written a prefix of data.
func (f *FS) writeAt(ctx context.Context, of *openFile, off uint64, data []byte, sync bool) error {
	for len(data) > 0 {
		idx := uint32(off / ms.ChunkSize)
		within := off % ms.ChunkSize
		n := min(uint64(len(data)), ms.ChunkSize-within)
		var v uint64
		var blocks uint32
		var written *chunkRef
		err := f.withLease(ctx, of, idx, func(ref *chunkRef) error {
			var err error
			written = ref
			// The write itself runs to its end whatever ctx does: once
			// sent it may be applied, and this client must learn the
			// version it made. Waits before (the lease) and after (copies)
			// end with ctx.
			if v, blocks, err = f.data.Write(f.op(), ref.id, int64(within), data[:n], sync || syncReplicated(ref)); err != nil {
				return fmt.Errorf("write chunk %x of inode %d: %w", ref.id, of.ino, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		of.wrote(idx, v, blocks, off+n)
		if syncReplicated(written) {
			// replication: sync. What was written stays written (and
			// replication goes on) if this fails.
			w := chunkWait{index: idx, id: written.id, version: v, replicas: written.replicas}
			if err := f.awaitEveryCopy(ctx, w); err != nil {
				return err
			}
		}
		off += n
		data = data[n:]
	}
	return nil
}

// chunkEnd is how many bytes of chunk idx a file of size bytes uses.
func chunkEnd(size uint64, idx uint32) int64 {
	start := uint64(idx) * ms.ChunkSize
	if size <= start {
		return 0
	}
	return int64(min(size-start, ms.ChunkSize))
}

// readAt fills dst from off of the file; holes read as zeros.
func (f *FS) readAt(ctx context.Context, of *openFile, off uint64, dst []byte) error {
	of.mu.Lock()
	size := of.size
	of.mu.Unlock()
	for len(dst) > 0 {
		idx := uint32(off / ms.ChunkSize)
		within := off % ms.ChunkSize
		n := min(uint64(len(dst)), ms.ChunkSize-within)
		ref, err := f.readable(ctx, of, idx)
		if err != nil {
			return err
		}
		if ref == nil {
			clear(dst[:n])
		} else if err := f.readChunk(ctx, ref, int64(within), dst[:n], chunkEnd(size, idx)); err != nil {
			return fmt.Errorf("read chunk %x of inode %d: %w", ref.id, of.ino, err)
		}
		off += n
		dst = dst[n:]
	}
	return nil
}
