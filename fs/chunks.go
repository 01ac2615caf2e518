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
			of.chunks[r.Index] = &chunkRef{id: uint64(r.ID)}
		}
	}
	if ref = of.chunks[idx]; ref.id == 0 {
		return nil, nil
	}
	return ref, nil
}

// writable returns the chunk at index with a write lease held by this
// client's dataserver, allocating the chunk and taking or renewing the
// lease as needed. A lease held by another dataserver is waited out.
func (f *FS) writable(ctx context.Context, of *openFile, idx uint32) (*chunkRef, error) {
	now := time.Now().UnixNano()
	half := int64(f.opts.LeaseDuration / 2)
	of.mu.Lock()
	ref := of.chunks[idx]
	of.mu.Unlock()
	if ref != nil && ref.id != 0 && ref.leaseExpiry-now > half {
		return ref, nil
	}
	rec, err := f.meta.AllocChunk(ctx, of.ino, idx, f.data.ID(), f.opts.LeaseDuration)
	if err != nil {
		return nil, fmt.Errorf("allocate chunk %d of inode %d: %w", idx, of.ino, err)
	}
	if rec.Primary != f.data.ID() || rec.LeaseExpiry-now <= half {
		if rec, err = f.acquireLease(ctx, of.ino, idx); err != nil {
			return nil, err
		}
	}
	if err := f.data.GrantLease(ctx, uint64(rec.ID), f.data.ID(), rec.LeaseEpoch, rec.LeaseExpiry); err != nil {
		return nil, fmt.Errorf("install lease of chunk %s: %w", rec.ID, err)
	}
	ref = &chunkRef{id: uint64(rec.ID), leaseEpoch: rec.LeaseEpoch, leaseExpiry: rec.LeaseExpiry}
	of.mu.Lock()
	of.chunks[idx] = ref
	of.mu.Unlock()
	return ref, nil
}

// acquireLease takes the chunk's lease, waiting (with backoff, bounded by
// ctx) while another dataserver's lease is live.
func (f *FS) acquireLease(ctx context.Context, ino ms.Ino, idx uint32) (*ms.ChunkRecord, error) {
	wait := 10 * time.Millisecond
	deadline := time.Now().Add(2 * f.opts.LeaseDuration)
	for {
		rec, err := f.meta.AcquireLease(ctx, ino, idx, f.data.ID(), f.opts.LeaseDuration)
		if !isErrno(err, syscall.EAGAIN) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("lease chunk %d of inode %d: %w", idx, ino, err)
			}
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
			wait = min(2*wait, time.Second)
		}
	}
}

// writeAt writes data at off of the file, chunk by chunk.
func (f *FS) writeAt(ctx context.Context, of *openFile, off uint64, data []byte, sync bool) error {
	for len(data) > 0 {
		idx := uint32(off / ms.ChunkSize)
		within := off % ms.ChunkSize
		n := min(uint64(len(data)), ms.ChunkSize-within)
		ref, err := f.writable(ctx, of, idx)
		if err != nil {
			return err
		}
		v, err := f.data.Write(ctx, ref.id, int64(within), data[:n], sync)
		if err != nil {
			return fmt.Errorf("write chunk %x of inode %d: %w", ref.id, of.ino, err)
		}
		of.wrote(idx, v, off+n)
		off += n
		data = data[n:]
	}
	return nil
}

// readAt fills dst from off of the file; holes read as zeros.
func (f *FS) readAt(ctx context.Context, of *openFile, off uint64, dst []byte) error {
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
		} else if err := f.data.Read(ctx, ref.id, int64(within), dst[:n]); err != nil {
			return fmt.Errorf("read chunk %x of inode %d: %w", ref.id, of.ino, err)
		}
		off += n
		dst = dst[n:]
	}
	return nil
}
