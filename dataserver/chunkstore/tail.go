package chunkstore

import (
	"fmt"
	"syscall"
)

// The tail of a data file is what lies past the chunk's size. Normally it
// is nothing (the file is cut back to the size when first opened), but an
// owner that writes data once may put bytes there ahead of time: WriteTail
// writes them without making them part of the chunk, and Adopt later makes
// them part of it (size and checksums) without writing them again. Between
// the two, the chunk reads and checksums as if the tail were not there.
//
// After a crash the owner decides which tails to keep: KeepTail, called
// before the data file is first opened, moves the open-time cut past the
// tail it will adopt, and Trim cuts whatever is left over afterwards.

// WriteTail writes p at off, which must not be before the chunk's size,
// into the data file. The chunk's size and checksums do not change.
func (c *Chunk) WriteTail(p []byte, off int64) error {
	if off < c.meta.Size {
		return fmt.Errorf("chunk %x: tail write at %d inside the chunk (size %d): %w", c.id, off, c.meta.Size, syscall.EINVAL)
	}
	return c.writeData(p, off)
}

// Adopt makes the n bytes at off, written earlier by WriteTail, part of
// the chunk, growing its size to cover them. p, when not nil, is those
// bytes as written (their checksums are computed from it); with p nil
// they are read back from the data file.
func (c *Chunk) Adopt(p []byte, off, n int64) error { return c.AdoptCRCs(p, off, n, nil) }

// AdoptCRCs is Adopt given the PieceCRCs of p at off (nil: not known),
// which spare it a pass over p.
func (c *Chunk) AdoptCRCs(p []byte, off, n int64, pieces []uint32) error {
	if off < 0 || n <= 0 || (p != nil && int64(len(p)) != n) {
		return fmt.Errorf("chunk %x: adopt %d bytes at %d: %w", c.id, n, off, syscall.EINVAL)
	}
	if p == nil || !piecesFit(pieces, n, off) {
		pieces = nil
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(false)
	end := off + n
	c.growTo(end)
	for b := off / BlockSize; b*BlockSize < end; b++ {
		lo, hi := b*BlockSize, min((b+1)*BlockSize, c.meta.Size)
		switch {
		case p != nil && lo >= off && hi <= end:
			c.crcs[b] = wholeBlockCRC(p, off, pieces, b, hi-lo)
			c.stale.remove(b)
		case p != nil && !c.replaying && !c.stale.has(b):
			// The adopted bytes were past the chunk's end, which its
			// checksums count as zeros.
			wlo, whi := max(off, lo), min(end, lo+BlockSize)
			c.crcs[b] = patchedBlockCRC(c.crcs[b], zerosCRC(whi-wlo), partCRC(p, off, pieces, b), wlo-lo, whi-wlo)
		default:
			if err := c.rehashBlock(f, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// KeepTail raises to n the size the data file is cut back to when it is
// first opened. It has no effect once the file has been opened.
func (c *Chunk) KeepTail(n int64) {
	c.store.fds.mu.Lock()
	defer c.store.fds.mu.Unlock()
	if !c.trimmed && c.f == nil {
		c.keep = max(c.keep, n)
	}
}

// Trim cuts the data file back to the chunk's size now.
func (c *Chunk) Trim() error { return c.CutTail(c.meta.Size) }

// SyncErr is the sticky error of a failed fdatasync of the data file, or
// nil (see SyncData).
func (c *Chunk) SyncErr() error {
	c.store.fds.mu.Lock()
	defer c.store.fds.mu.Unlock()
	return c.syncErr
}

// CutTail cuts the data file to n bytes, which must not be less than the
// chunk's size: it drops a tail (or the part of one past n) that will
// never be adopted.
func (c *Chunk) CutTail(n int64) error {
	if n < c.meta.Size {
		return fmt.Errorf("chunk %x: cut tail at %d inside the chunk (size %d): %w", c.id, n, c.meta.Size, syscall.EINVAL)
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(true)
	if err := f.Truncate(n); err != nil {
		return fmt.Errorf("chunk %x: cut tail at %d: %w", c.id, n, err)
	}
	return nil
}
