package chunkstore

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Chunk is one chunk's data file and its in-memory metadata and block
// checksums. See the package doc for the concurrency contract. The data
// file is opened on first use and may be closed and reopened behind the
// Chunk's back to bound the Store's open files (see fdCache); every method
// that touches it pins it for the duration.
//
// Invariant: len(crcs) == blocksFor(meta.Size), and crcs[i] is the checksum
// of block i of the data file as this Chunk last wrote it (bytes past
// meta.Size counted as zeros), unless block i is stale.
type Chunk struct {
	id    uint64
	store *Store
	meta  Meta
	crcs  []uint32
	// stale marks blocks whose checksum is not known: written in part
	// while replaying, or by a write that failed and could not be read
	// back. Snapshot (and CRCs, without recording) hash them from the data
	// file; ReadAt serves them unverified until then.
	stale staleSet
	// replaying is set by BeginReplay and cleared by Snapshot: the data
	// file may be ahead of crcs, so no checksum is patched from an old one.
	replaying bool
	// noFallocate is set once the filesystem said it cannot preallocate.
	noFallocate bool

	// The data file's state, guarded by store.fds.mu (see fdCache); f
	// and trimmed are also used outside the lock by the goroutine that
	// set busy, and f by those that pinned it.
	f        diskfs.File // nil when not open
	pins     int         // users of f right now; f is not closed while > 0
	busy     bool        // f is being opened or closed outside the lock
	unsynced bool        // f was written since its last fdatasync
	trimmed  bool        // the data file was cut to the sidecar's size
	newFile  bool        // the data file was created and its directory not synced since
	keep     int64       // ... or to this size, when larger (KeepTail)
	closed   bool        // Close was called: the file is never reopened
	// syncErr is the first failed fdatasync (or close after one). Once a
	// writeback error has been reported the kernel does not report it
	// again, so it is sticky: SyncData keeps returning it and no
	// checkpoint can claim the file's data durable.
	syncErr      error
	syncMu       sync.Mutex // serializes SyncData
	lprev, lnext *Chunk
	onList       *fdList
}

// ID returns the chunk id.
func (c *Chunk) ID() uint64 { return c.id }

// Meta returns a copy of the chunk's metadata.
func (c *Chunk) Meta() Meta {
	m := c.meta
	m.Replicas = append([]string(nil), m.Replicas...)
	return m
}

// Size returns the chunk's size in bytes.
func (c *Chunk) Size() int64 { return c.meta.Size }

// SetMeta replaces the metadata the engine owns (version, epoch, replicas,
// flags). m.Size is ignored: the size follows WriteAt and Truncate.
func (c *Chunk) SetMeta(m Meta) {
	m.Size = c.meta.Size
	m.Replicas = append([]string(nil), m.Replicas...)
	c.meta = m
}

// CRCs returns the block checksums, computing stale ones from the data
// file without recording them (it may run alongside ReadAt).
func (c *Chunk) CRCs() ([]uint32, error) {
	out := append([]uint32(nil), c.crcs...)
	if c.stale.empty() {
		return out, nil
	}
	f, err := c.acquire()
	if err != nil {
		return nil, err
	}
	defer c.release(false)
	bp := blockPool.Get().(*[]byte)
	defer blockPool.Put(bp)
	for b := range int64(len(out)) {
		if !c.stale.has(b) {
			continue
		}
		lo, hi := b*BlockSize, min((b+1)*BlockSize, c.meta.Size)
		buf := (*bp)[:hi-lo]
		if err := c.readFull(f, buf, lo); err != nil {
			return nil, err
		}
		out[b] = blockCRC(buf)
	}
	return out, nil
}

// ReadAt fills p with the chunk's bytes at off, zeros past the end of the
// chunk. Every block touched is read whole and verified; a mismatch fails
// the read with an error wrapping syscall.EIO and is reported to the
// store's OnCorrupt hook.
func (c *Chunk) ReadAt(p []byte, off int64) error {
	if off < 0 {
		return fmt.Errorf("chunk %x: read at %d: %w", c.id, off, syscall.EINVAL)
	}
	end := off + int64(len(p))
	dataEnd := min(end, c.meta.Size)
	if off >= dataEnd {
		clear(p)
		return nil
	}
	// [off, dataEnd) is read below; only what lies past the data is zeroed
	// here (a full 1 MiB clear per read showed in profiles).
	clear(p[dataEnd-off:])
	first := off / BlockSize
	last := (dataEnd - 1) / BlockSize
	spanOff := first * BlockSize
	spanEnd := min((last+1)*BlockSize, c.meta.Size)
	inPlace := spanOff == off && spanEnd <= end
	var span []byte
	switch {
	case inPlace:
		span = p[:spanEnd-spanOff] // aligned: read and verify in place
	case spanEnd-spanOff <= BlockSize:
		bp := blockPool.Get().(*[]byte)
		defer blockPool.Put(bp)
		span = (*bp)[:spanEnd-spanOff]
	default:
		span = make([]byte, spanEnd-spanOff)
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	err = c.readFull(f, span, spanOff)
	c.release(false)
	if err != nil {
		return err
	}
	for b := first; b <= last; b++ {
		if c.stale.has(b) {
			continue
		}
		lo := (b - first) * BlockSize
		hi := min(lo+BlockSize, int64(len(span)))
		if got := blockCRC(span[lo:hi]); got != c.crcs[b] {
			c.store.reportCorrupt(c.id, b)
			return fmt.Errorf("chunk %x block %d: checksum mismatch (have %08x, want %08x): %w",
				c.id, b, got, c.crcs[b], syscall.EIO)
		}
	}
	if !inPlace {
		copy(p, span[off-spanOff:dataEnd-spanOff])
	}
	return nil
}

// readFull reads len(p) bytes at off; bytes past the end of the data file
// read as zeros (the file may be shorter than the chunk when its tail is a
// hole).
func (c *Chunk) readFull(f diskfs.File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("chunk %x: read: %w", c.id, err)
	}
	clear(p[n:])
	return nil
}

// WriteAt writes p at off and updates the checksums of every block it
// touches: a block p covers whole is hashed from p; a block it covers in
// part gets its checksum patched (patchedBlockCRC) from the bytes p
// replaces, read before the write. On error the data file may hold part
// of p; the touched blocks are then rehashed from the file, so the
// checksums still describe what is there (the engine retries a failed
// apply until it succeeds and never moves on).
func (c *Chunk) WriteAt(p []byte, off int64) error { return c.WriteAtCRCs(p, off, nil) }

// WriteAtCRCs is WriteAt given the PieceCRCs of p at off (nil: not known),
// which spare it a pass over p.
func (c *Chunk) WriteAtCRCs(p []byte, off int64, pieces []uint32) error {
	if off < 0 {
		return fmt.Errorf("chunk %x: write at %d: %w", c.id, off, syscall.EINVAL)
	}
	if len(p) == 0 {
		return nil
	}
	end := off + int64(len(p))
	if !piecesFit(pieces, int64(len(p)), off) {
		pieces = nil
	}
	edges, err := c.edgeCRCs(p, off, pieces)
	if err != nil {
		return err
	}
	if err := c.writeData(p, off); err != nil {
		c.rehashAfterFailure(off, end)
		return err
	}
	c.growTo(end)
	for b := off / BlockSize; b*BlockSize < end; b++ {
		lo, hi := b*BlockSize, min((b+1)*BlockSize, c.meta.Size)
		switch crc, ok := edges.get(b); {
		case lo >= off && hi <= end:
			c.crcs[b] = wholeBlockCRC(p, off, pieces, b, hi-lo)
			c.stale.remove(b)
		case ok:
			c.crcs[b] = crc
		default:
			c.stale.add(b)
		}
	}
	return nil
}

// edgeBlocks holds the new checksums of the (at most two) blocks a write
// covers in part.
type edgeBlocks struct {
	n     int
	block [2]int64
	crc   [2]uint32
}

func (e *edgeBlocks) get(b int64) (uint32, bool) {
	for i := range e.n {
		if e.block[i] == b {
			return e.crc[i], true
		}
	}
	return 0, false
}

// wholeBlockCRC is the checksum of block b, whose n bytes (n <
// BlockSize only at the chunk's end) p, written at off, covers whole:
// from pieces when known, else hashed.
func wholeBlockCRC(p []byte, off int64, pieces []uint32, b, n int64) uint32 {
	lo := b * BlockSize
	if pieces == nil {
		return blockCRC(p[lo-off : lo-off+n])
	}
	return paddedBlockCRC(pieces[b-off/BlockSize], n)
}

// partCRC is the CRC32C of the part of p, written at off, that falls in
// block b: from pieces when known, else hashed.
func partCRC(p []byte, off int64, pieces []uint32, b int64) uint32 {
	if pieces != nil {
		return pieces[b-off/BlockSize]
	}
	lo, hi := max(off, b*BlockSize), min(off+int64(len(p)), (b+1)*BlockSize)
	return CRC(p[lo-off : hi-off])
}

// edgeCRCs computes, before p is written at off, the checksums that the
// blocks p covers in part will have after it. A block whose current
// checksum is not known (stale, or the chunk is replaying) is left out.
func (c *Chunk) edgeCRCs(p []byte, off int64, pieces []uint32) (edgeBlocks, error) {
	var e edgeBlocks
	end := off + int64(len(p))
	newSize := max(c.meta.Size, end)
	for _, b := range []int64{off / BlockSize, (end - 1) / BlockSize} {
		lo, hi := b*BlockSize, min((b+1)*BlockSize, newSize)
		if (lo >= off && hi <= end) || (e.n > 0 && e.block[0] == b) || c.replaying || c.stale.has(b) {
			continue
		}
		wlo, whi := max(off, lo), min(end, lo+BlockSize)
		bp := blockPool.Get().(*[]byte)
		was := (*bp)[:whi-wlo]
		if err := c.oldBytes(was, wlo); err != nil {
			blockPool.Put(bp)
			return e, err
		}
		old := ZeroBlockCRC // a block past the old end is a hole
		if b < int64(len(c.crcs)) {
			old = c.crcs[b]
		}
		now := partCRC(p, off, pieces, b)
		e.block[e.n], e.crc[e.n] = b, patchedBlockCRC(old, CRC(was), now, wlo-lo, whi-wlo)
		e.n++
		blockPool.Put(bp)
	}
	return e, nil
}

// oldBytes fills buf with the chunk's bytes at off as they are now:
// zeros past the chunk's end, whatever the data file holds before it.
func (c *Chunk) oldBytes(buf []byte, off int64) error {
	inFile := max(0, min(int64(len(buf)), c.meta.Size-off))
	clear(buf[inFile:])
	if inFile == 0 {
		return nil
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(false)
	return c.readFull(f, buf[:inFile], off)
}

// rehashAfterFailure rehashes, from the data file, the blocks of [off,
// end) that exist after a failed write left unknown bytes there; a block
// that cannot be read is marked stale (hashed at the next Snapshot, read
// unverified until then).
func (c *Chunk) rehashAfterFailure(off, end int64) {
	f, err := c.acquire()
	if err == nil {
		defer c.release(false)
	}
	for b := off / BlockSize; b*BlockSize < min(end, c.meta.Size); b++ {
		if err != nil || c.rehashBlock(f, b) != nil {
			c.stale.add(b)
		}
	}
}

// writeData writes p at off of the data file.
func (c *Chunk) writeData(p []byte, off int64) error {
	f, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(true)
	if _, err := f.WriteAt(p, off); err != nil {
		return fmt.Errorf("chunk %x: write %d bytes at %d: %w", c.id, len(p), off, err)
	}
	return nil
}

// growTo extends the size to n (if larger); new blocks are holes.
func (c *Chunk) growTo(n int64) {
	if n <= c.meta.Size {
		return
	}
	for int64(len(c.crcs)) < blocksFor(n) {
		c.crcs = append(c.crcs, ZeroBlockCRC)
	}
	c.meta.Size = n
}

// rehashBlock recomputes block b's checksum from the data file.
func (c *Chunk) rehashBlock(f diskfs.File, b int64) error {
	lo, hi := b*BlockSize, min((b+1)*BlockSize, c.meta.Size)
	bp := blockPool.Get().(*[]byte)
	defer blockPool.Put(bp)
	buf := (*bp)[:hi-lo]
	if err := c.readFull(f, buf, lo); err != nil {
		return err
	}
	c.crcs[b] = blockCRC(buf)
	c.stale.remove(b)
	return nil
}

// blockPool recycles BlockSize buffers for checksum work.
var blockPool = sync.Pool{New: func() any { b := make([]byte, BlockSize); return &b }}

// Truncate sets the chunk's size. Shrinking discards the bytes past size;
// growing adds a hole.
func (c *Chunk) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("chunk %x: truncate to %d: %w", c.id, size, syscall.EINVAL)
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.release(true)
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("chunk %x: truncate to %d: %w", c.id, size, err)
	}
	if size >= c.meta.Size {
		c.growTo(size) // old tail block already counted the new zeros
		return nil
	}
	c.crcs = c.crcs[:blocksFor(size)]
	c.stale.cut(blocksFor(size))
	c.meta.Size = size
	if size%BlockSize != 0 {
		return c.rehashBlock(f, size/BlockSize)
	}
	return nil
}

// Allocate reserves disk space for [off, off+n) without changing the size,
// so that a later WriteAt of that range cannot fail with ENOSPC. Returns an
// error wrapping ENOSPC when the disk is full. Filesystems that cannot
// preallocate are tolerated (the reservation is then best effort).
func (c *Chunk) Allocate(off, n int64) error {
	if c.noFallocate || n <= 0 {
		return nil
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	err = f.Allocate(off, n)
	c.release(false)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS):
		c.noFallocate = true
		return nil
	default:
		return fmt.Errorf("chunk %x: reserve %d bytes at %d: %w", c.id, n, off, err)
	}
}

// SyncData makes the data file's contents durable (fdatasync). It costs
// nothing when nothing was written since the last fdatasync, and it fails
// for good once an fdatasync of the file has failed (see syncErr).
func (c *Chunk) SyncData() error { return c.syncData() }

// BeginReplay tells the chunk that its owner is about to replay writes
// that its data file may already hold: after a crash the file can be
// ahead of the checksums its sidecar kept. Until the next Snapshot, a
// block written in part is marked stale instead of having its checksum
// patched from the old one, which may describe older bytes.
func (c *Chunk) BeginReplay() { c.replaying = true }

// Snapshot captures the metadata and checksums for Store.Checkpoint,
// computing the stale checksums first, and ends a replay. It needs
// exclusive access (like WriteAt).
func (c *Chunk) Snapshot() (Snapshot, error) {
	if !c.stale.empty() {
		f, err := c.acquire()
		if err != nil {
			return Snapshot{}, err
		}
		for _, b := range c.stale.list() {
			if err := c.rehashBlock(f, b); err != nil {
				c.release(false)
				return Snapshot{}, err
			}
		}
		c.release(false)
	}
	c.replaying = false
	return Snapshot{chunk: c, side: sidecar{Meta: c.Meta(), CRCs: append([]uint32(nil), c.crcs...)}}, nil
}

// Close closes the data file for good; the Chunk must not be used again.
// Unsynced writes are not synced (Store.Checkpoint does that).
func (c *Chunk) Close() error { return c.closeChunk() }

// Snapshot is a chunk's metadata and checksums as of one moment, to be
// persisted by Store.Checkpoint.
type Snapshot struct {
	chunk *Chunk
	side  sidecar
}

// ID returns the snapshotted chunk's id.
func (s Snapshot) ID() uint64 { return s.chunk.id }

// Meta returns the snapshotted metadata.
func (s Snapshot) Meta() Meta { return s.side.Meta }

// KnownCRCs returns the block checksums without computing stale ones: a
// stale block (written in part, its checksum not yet known) reads as 0,
// which no block of zeros has.
func (c *Chunk) KnownCRCs() []uint32 {
	out := append([]uint32(nil), c.crcs...)
	for b := range out {
		if c.stale.has(int64(b)) {
			out[b] = 0
		}
	}
	return out
}
