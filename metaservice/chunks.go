package metaservice

import (
	"context"
	"fmt"
	"syscall"
)

// ChunkSize is the size of a file's chunks.
const ChunkSize = 64 << 20

// MaxFileSize is the largest file size: chunk indexes are 32 bits.
const MaxFileSize = ChunkSize * (1<<32 - 1)

func checkFileSize(size uint64) error {
	if size > MaxFileSize {
		return errnof(syscall.EFBIG, "file size %d (limit %d)", size, uint64(MaxFileSize))
	}
	return nil
}

// chunkCount is how many chunks a file of size bytes spans.
func chunkCount(size uint64) uint32 { return uint32((size + ChunkSize - 1) / ChunkSize) }

// IndexedChunk is a chunk record with its index in the file.
type IndexedChunk struct {
	Index uint32
	ChunkRecord
}

// Chunks returns the chunk records of ino with index in [from, to).
// Indexes with no record are holes.
func (s *Service) Chunks(ctx context.Context, ino Ino, from, to uint32) ([]IndexedChunk, error) {
	var out []IndexedChunk
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start, _ := chunkRange(ino, from)
		end := chunkKey(ino, to)
		var derr error
		err := t.Scan(start, end, 0, func(k, v []byte) bool {
			c := IndexedChunk{Index: chunkIndexOf(k)}
			derr = decode(k, v, &c.ChunkRecord)
			out = append(out, c)
			return derr == nil
		})
		if err != nil {
			return err
		}
		return derr
	})
	return out, err
}

func (t *tx) chunk(ino Ino, index uint32) (*ChunkRecord, error) {
	k := chunkKey(ino, index)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return nil, err
	}
	c := new(ChunkRecord)
	return c, decode(k, v, c)
}

// ChunkVersion reports a chunk version a dataserver holds after writes.
type ChunkVersion struct {
	_msgpack struct{} `msgpack:",as_array"`

	Index      uint32
	Version    uint64
	Dataserver string
	Blocks     uint32 // the chunk's blocks that hold data at Version
}

// CommitWrite records the effect of writes: the file grows to at least
// size, mtime is set, the content generation moves on, and each chunk's
// version (and the reporting dataserver's replica version) advances.
// Clients call it at flush, fsync and close, and every few seconds while
// writing, not per write.
func (s *Service) CommitWrite(ctx context.Context, ino Ino, size uint64, mtime int64, chunks []ChunkVersion) (*Attr, error) {
	if err := checkFileSize(size); err != nil {
		return nil, err
	}
	var out *Attr
	err := s.update(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if err != nil {
			return err
		}
		if a.Type() != syscall.S_IFREG {
			return errnof(syscall.EINVAL, "write to inode %d of type %o", ino, a.Type())
		}
		before := a.Allocated()
		for _, cv := range chunks {
			delta, err := t.advanceChunk(ino, cv)
			if err != nil {
				return err
			}
			a.DataBlocks = uint64(int64(a.DataBlocks) + delta)
		}
		a.Size = max(a.Size, size)
		t.usageDelta(ino.Shard(), 0, int64(a.Allocated())-int64(before))
		a.Mtime, a.Ctime = mtime, t.now
		a.Gen++
		t.dropCaps(a)
		t.putAttr(a)
		out = a
		return nil
	})
	return out, err
}

// advanceChunk records a committed chunk version and returns how many data
// blocks the chunk gained (or, negative, lost): the newest version's count
// is the chunk's.
func (t *tx) advanceChunk(ino Ino, cv ChunkVersion) (int64, error) {
	c, err := t.chunk(ino, cv.Index)
	if err != nil {
		return 0, err
	}
	if c == nil {
		return 0, errnof(syscall.ENOENT, "commit to unallocated chunk %d of inode %d", cv.Index, ino)
	}
	var delta int64
	if cv.Version >= c.Version {
		delta = int64(cv.Blocks) - int64(c.Blocks)
		c.Blocks = cv.Blocks
	}
	c.Version = max(c.Version, cv.Version)
	found := false
	for i := range c.Replicas {
		if c.Replicas[i].Dataserver == cv.Dataserver {
			c.Replicas[i].Version = max(c.Replicas[i].Version, cv.Version)
			found = true
		}
	}
	if !found {
		c.Replicas = append(c.Replicas, Replica{Dataserver: cv.Dataserver, Version: cv.Version})
	}
	t.mustSet(chunkKey(ino, cv.Index), encode(c))
	return delta, nil
}

// releaseChunks deletes ino's chunk records from index from on and queues
// the chunks for deletion on the dataservers that hold them. It returns
// how many data blocks they held.
func (t *tx) releaseChunks(ino Ino, from uint32) (uint64, error) {
	start, end := chunkRange(ino, from)
	type rec struct {
		key []byte
		c   ChunkRecord
	}
	var recs []rec
	var derr error
	err := t.Scan(start, end, 0, func(k, v []byte) bool {
		r := rec{key: append([]byte(nil), k...)}
		derr = decode(k, v, &r.c)
		recs = append(recs, r)
		return derr == nil
	})
	if err != nil {
		return 0, fmt.Errorf("release chunks of inode %d: %w", ino, err)
	}
	if derr != nil {
		return 0, derr
	}
	var blocks uint64
	for _, r := range recs {
		blocks += uint64(r.c.Blocks)
		t.mustDelete(r.key)
		d := deletion{Chunk: r.c.ID, Queued: t.now}
		for _, rep := range r.c.Replicas {
			d.Replicas = append(d.Replicas, rep.Dataserver)
		}
		t.mustSet(deleteQueueKey(r.c.ID), encode(&d))
	}
	return blocks, nil
}

// Deletion is a chunk the dataservers should delete.
type Deletion struct {
	Chunk    ChunkID
	Replicas []string
	Diverged map[string]uint64 // see deletion
}

// PendingDeletions returns up to limit queued chunk deletions.
func (s *Service) PendingDeletions(ctx context.Context, limit int) ([]Deletion, error) {
	var out []Deletion
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start := []byte{tagGlobal, gDeleteQ}
		var derr error
		err := t.Scan(start, prefixEnd(start), limit, func(k, v []byte) bool {
			var d deletion
			derr = decode(k, v, &d)
			out = append(out, Deletion{Chunk: d.Chunk, Replicas: d.Replicas})
			return derr == nil
		})
		if err != nil {
			return err
		}
		return derr
	})
	return out, err
}

// AckDeletions removes chunks from the deletion queue once every replica
// has deleted them.
func (s *Service) AckDeletions(ctx context.Context, chunks []ChunkID) error {
	return s.update(ctx, func(t *tx) error {
		for _, c := range chunks {
			t.mustDelete(deleteQueueKey(c))
		}
		return nil
	})
}

// cutChunkBlocks sets the data-block count of the chunk that a truncation
// to size cuts in the middle: to tail when its dataserver's count is known,
// else to at most the blocks below size; it returns how many it dropped.
func (t *tx) cutChunkBlocks(ino Ino, size uint64, tail uint32, known bool) (uint64, error) {
	within := size % ChunkSize
	if within == 0 {
		return 0, nil
	}
	idx := uint32(size / ChunkSize)
	c, err := t.chunk(ino, idx)
	if err != nil || c == nil {
		return 0, err
	}
	keep := uint32((within + DataBlockSize - 1) / DataBlockSize)
	if known {
		keep = min(keep, tail)
	}
	if c.Blocks <= keep {
		return 0, nil
	}
	dropped := uint64(c.Blocks - keep)
	c.Blocks = keep
	t.mustSet(chunkKey(ino, idx), encode(c))
	return dropped, nil
}
