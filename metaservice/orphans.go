package metaservice

import (
	"context"
	"fmt"
	"syscall"
)

// ReconcileChunks frees the space a crash can leave held on a one-machine
// volume: it is run at the volume's start, before any client, with the
// chunks its only dataserver (ds) holds. A chunk no record names (its
// record was lost with the metadata the crash took), and a chunk whose
// record lies wholly past its file's size (written, never committed:
// nothing fsynced, since fsync commits the size first), go to the
// deletion queue, records and all; ReclaimChunks deletes them. It returns
// how many chunks it queued.
//
// Not for a cluster: there a chunk may be on its way to a dataserver
// whose record another metaservice has not committed yet; garbage
// collection across a cluster is its own work.
func (s *Service) ReconcileChunks(ctx context.Context, ds string, held []uint64) (int, error) {
	named, pastEnd, err := s.chunkRecordsByFile(ctx)
	if err != nil {
		return 0, err
	}
	queued, err := s.PendingDeletions(ctx, 1<<30)
	if err != nil {
		return 0, err
	}
	for _, d := range queued {
		named[d.Chunk] = true
	}
	var orphans []ChunkID
	for _, id := range held {
		if !named[ChunkID(id)] {
			orphans = append(orphans, ChunkID(id))
		}
	}
	n := len(orphans)
	err = s.update(ctx, func(t *tx) error {
		for _, id := range orphans {
			if err := t.queueDeletion(id, []string{ds}); err != nil {
				return err
			}
		}
		return nil
	})
	for ino, from := range pastEnd {
		released, rerr := s.releasePastEnd(ctx, ino, from)
		n += released
		err = firstErr(err, rerr)
	}
	if err != nil {
		return n, fmt.Errorf("reconcile chunks: %w", err)
	}
	return n, nil
}

// chunkRecordsByFile scans every chunk record: named holds the chunks
// that have one, pastEnd the first index past the size of each file that
// has records beyond it.
func (s *Service) chunkRecordsByFile(ctx context.Context) (map[ChunkID]bool, map[Ino]uint32, error) {
	named, pastEnd := map[ChunkID]bool{}, map[Ino]uint32{}
	sizes := map[Ino]uint64{}
	err := s.eachChunkRecord(ctx, func(ino Ino, idx uint32, c *ChunkRecord) error {
		size, ok := sizes[ino]
		if !ok {
			a, err := s.GetAttr(ctx, ino)
			if err != nil && !IsErrno(err, syscall.ENOENT) {
				return err
			}
			if a != nil {
				size = a.Size
			}
			sizes[ino] = size
		}
		named[c.ID] = true
		if from, seen := pastEnd[ino]; uint64(idx)*ChunkSize >= size && (!seen || idx < from) {
			pastEnd[ino] = idx
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return named, pastEnd, nil
}

// releasePastEnd releases ino's chunk records from index from on, if they
// are still past its size, and returns how many it released.
func (s *Service) releasePastEnd(ctx context.Context, ino Ino, from uint32) (int, error) {
	n := 0
	err := s.update(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if IsErrno(err, syscall.ENOENT) {
			a = &Attr{Ino: ino} // records of a lost inode: all of them go
		} else if err != nil {
			return err
		}
		from = max(from, chunkCount(a.Size))
		start, end := chunkRange(ino, from)
		n = 0
		if err := t.Scan(start, end, 0, func(k, v []byte) bool { n++; return true }); err != nil {
			return err
		}
		released, err := t.releaseChunks(ino, from)
		if err != nil || a.Mode == 0 {
			return err
		}
		a.DataBlocks -= min(a.DataBlocks, released)
		t.putAttr(a)
		return nil
	})
	return n, err
}
