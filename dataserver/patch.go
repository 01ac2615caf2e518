package dataserver

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/lis-fs/lis/dataserver/chunkstore"
)

// A patch (OpPatch) is a whole lazy replication batch of one chunk in one
// journal record: the blocks in which the primary's current version
// differs from the replica's, and the new size. Because a journal record
// is durable whole or not at all, a replica that crashes while taking a
// patch comes back at its base version or at the new one, never between:
// unlike a full copy (OpResync*), a patch never leaves the replica without
// a consistent version.
//
// Data is a sequence of segments, each
//
//	0 8 offset in the chunk
//	8 4 length n
//	12 n bytes
//
// in increasing, non-overlapping offset order.

const patchSegmentHeader = 12

// maxPatchBytes bounds the data of one patch record: larger differences
// are sent as a full copy, which streams block by block (and hides the
// replica's copy until it ends) instead of holding a record this large.
const maxPatchBytes = 16 << 20

// patchSegment is one run of bytes of a patch.
type patchSegment struct {
	off  int64
	data []byte
}

// encodePatch encodes the segments of a patch.
func encodePatch(segs []copyBlock) []byte {
	n := 0
	for _, s := range segs {
		n += patchSegmentHeader + len(s.data)
	}
	out := make([]byte, 0, n)
	for _, s := range segs {
		out = binary.LittleEndian.AppendUint64(out, uint64(s.off))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(s.data)))
		out = append(out, s.data...)
	}
	return out
}

// patchSegments decodes a patch's Data; it never panics, and reports
// segments that overlap, go backwards or pass limit.
func patchSegments(data []byte, limit int64) ([]patchSegment, error) {
	var out []patchSegment
	next := int64(0)
	for len(data) > 0 {
		if len(data) < patchSegmentHeader {
			return nil, fmt.Errorf("%w: patch segment header cut at %d bytes", errBadMutation, len(data))
		}
		off := int64(binary.LittleEndian.Uint64(data))
		n := int64(binary.LittleEndian.Uint32(data[8:]))
		data = data[patchSegmentHeader:]
		switch {
		case off < next || off > limit || n > limit-off:
			return nil, fmt.Errorf("%w: patch segment %d+%d out of order or past size %d", errBadMutation, off, n, limit)
		case n > int64(len(data)):
			return nil, fmt.Errorf("%w: patch segment %d+%d cut at %d bytes", errBadMutation, off, n, len(data))
		}
		out = append(out, patchSegment{off: off, data: data[:n]})
		data, next = data[n:], off+n
	}
	return out, nil
}

// validatePatch checks an OpPatch record's fields and segments.
func validatePatch(m *Mutation, maxChunk int64) error {
	if m.Arg > uint64(maxChunk) || m.Offset < 0 || uint64(m.Offset) >= m.Version {
		return fmt.Errorf("%w: patch of chunk %x from version %d to %d, size %d", errBadMutation, m.Chunk, m.Offset, m.Version, m.Arg)
	}
	_, err := patchSegments(m.Data, int64(m.Arg)) // every segment lies within the new size
	return err
}

// applyPatch writes a patch's segments to the chunk file, then sets its
// size. Applying it again (journal replay) gives the same file.
func applyPatch(f *chunkstore.Chunk, m *Mutation) error {
	segs, err := patchSegments(m.Data, int64(m.Arg))
	if err != nil {
		return err
	}
	for _, s := range segs {
		if err := f.WriteAt(s.data, s.off); err != nil {
			return err
		}
	}
	return f.Truncate(int64(m.Arg))
}

// overlayPatch applies a pending patch to buf, which holds the chunk's
// bytes at off as of the mutations before it.
func overlayPatch(buf []byte, off int64, m *Mutation) {
	end := off + int64(len(buf))
	segs, _ := patchSegments(m.Data, int64(m.Arg)) // checked when decoded
	for _, s := range segs {
		lo, hi := max(off, s.off), min(end, s.off+int64(len(s.data)))
		if lo < hi {
			copy(buf[lo-off:hi-off], s.data[lo-s.off:hi-s.off])
		}
	}
	if n := int64(m.Arg); n < end {
		clear(buf[max(n, off)-off:])
	}
}

// reservePatch checks that the data of a patch fits: the quota, with the
// growth it brings, and the free space its journal record and blocks take.
func (e *engine) reservePatch(cs *chunkState, m *Mutation) error {
	n := int64(len(m.Data))
	if c := e.cfg.Capacity; c > 0 {
		growth := max(0, int64(m.Arg)-cs.size)
		if used := e.logical.Load() + e.j.Size(); used+growth+n > c {
			return errChunk(cs.id, syscall.ENOSPC, "patch of %d bytes: %d of %d bytes used", n, used, c)
		}
	}
	if err := e.space.take(2 * n); err != nil {
		return fmt.Errorf("chunk %x: %w", cs.id, err)
	}
	return nil
}
