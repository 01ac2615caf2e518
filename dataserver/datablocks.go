package dataserver

import (
	"bytes"
	"math/bits"

	"github.com/lis-fs/lis/dataserver/chunkstore"
)

// dataBlocks is the set of a chunk's blocks (chunkstore.BlockSize each)
// that hold data, as opposed to holes: a block is a hole while it reads
// as zeros. A client reports the count to the metaservice, which makes a
// sparse file's st_blocks (and du) count only what it holds. A write of
// zeros over a whole block (how a hole is punched) makes it a hole; one
// over part of a block leaves it as it was (it may hold data elsewhere).
// After a restart the set is read back from the block checksums.
type dataBlocks struct {
	words []uint64
}

// add marks the blocks that [off, end) touches.
func (d *dataBlocks) add(off, end int64) {
	if end <= off {
		return
	}
	for b := off / chunkstore.BlockSize; b <= (end-1)/chunkstore.BlockSize; b++ {
		w := int(b / 64)
		for w >= len(d.words) {
			d.words = append(d.words, 0)
		}
		d.words[w] |= 1 << (b % 64)
	}
}

// write notes data written at off: the blocks it touches hold data, but
// for the whole blocks it fills with zeros, which become holes, and the
// partial ones it writes only zeros to, which stay as they were.
func (d *dataBlocks) write(off int64, data []byte) {
	const B = chunkstore.BlockSize
	end := off + int64(len(data))
	for b := off / B; b*B < end; b++ {
		lo, hi := max(off, b*B), min(end, (b+1)*B)
		zero := allZero(data[lo-off : hi-off])
		switch {
		case !zero:
			d.add(lo, hi)
		case hi-lo == B:
			d.remove(b)
		}
	}
}

// remove makes block b a hole.
func (d *dataBlocks) remove(b int64) {
	if w := int(b / 64); w < len(d.words) {
		d.words[w] &^= 1 << (b % 64)
	}
}

// allZero reports whether p is all zero bytes.
func allZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), len(zeroBlock))
		if !bytes.Equal(p[:n], zeroBlock[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}

var zeroBlock = make([]byte, chunkstore.BlockSize)

// cut forgets the blocks wholly past size.
func (d *dataBlocks) cut(size int64) {
	first := (size + chunkstore.BlockSize - 1) / chunkstore.BlockSize // blocks from here are gone
	for w := range d.words {
		lo := int64(w) * 64
		switch {
		case lo >= first:
			d.words[w] = 0
		case lo+64 > first:
			d.words[w] &= 1<<(first-lo) - 1
		}
	}
}

// count is the number of blocks holding data.
func (d *dataBlocks) count() uint32 {
	n := 0
	for _, w := range d.words {
		n += bits.OnesCount64(w)
	}
	return uint32(n)
}

// fromChunk sets d from a chunk file: a block holds data unless its
// checksum is a hole's.
func (d *dataBlocks) fromChunk(f *chunkstore.Chunk) {
	d.words = d.words[:0]
	for b, crc := range f.KnownCRCs() {
		if crc != chunkstore.ZeroBlockCRC {
			d.add(int64(b)*chunkstore.BlockSize, int64(b)*chunkstore.BlockSize+1)
		}
	}
}

// noteData records in cs.data what m does to the chunk's blocks. Caller
// holds cs.mu.
func (cs *chunkState) noteData(m *Mutation) {
	switch m.Op {
	case OpWrite, OpResyncData:
		cs.data.write(m.Offset, m.Data)
	case OpAppend:
		if int64(len(m.Data)) == int64(m.Arg) {
			cs.data.write(m.Offset, m.Data)
		} else {
			cs.data.add(m.Offset, m.end()) // replayed: the data is in the file
		}
	case OpTruncate, OpResyncEnd:
		cs.data.cut(int64(m.Arg))
	case OpPatch:
		segs, _ := patchSegments(m.Data, int64(m.Arg)) // checked when decoded
		for _, s := range segs {
			cs.data.write(s.off, s.data)
		}
		cs.data.cut(int64(m.Arg))
	case OpDelete:
		cs.data.cut(0)
	}
}
