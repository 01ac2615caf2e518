package metaservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
)

// reclaimBatch is how many queued deletions one pass takes at a time.
const reclaimBatch = 1024

// ReclaimChunks deletes the chunks of deleted and truncated files from
// every dataserver that holds a copy, and drops each from the deletion
// queue once all its copies are gone. A copy whose dataserver does not
// answer stays queued, with only the copies still to delete, for a later
// pass (every Options.ReclaimInterval in the background): a chunk's
// space is never leaked by a dataserver that was away, and a dataserver
// that returns is cleaned up then.
func (s *Service) ReclaimChunks(ctx context.Context) error {
	var after ChunkID
	for {
		dels, err := s.deletionsAfter(ctx, after, reclaimBatch)
		if err != nil || len(dels) == 0 {
			return err
		}
		var errs []error
		for _, d := range dels {
			errs = append(errs, s.reclaim(ctx, d))
			after = d.Chunk
		}
		if err := errors.Join(errs...); err != nil || len(dels) < reclaimBatch {
			return err
		}
	}
}

// deletionsAfter returns up to limit queued deletions of chunks above
// after.
func (s *Service) deletionsAfter(ctx context.Context, after ChunkID, limit int) ([]Deletion, error) {
	var out []Deletion
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start, end := deleteQueueKey(after+1), prefixEnd([]byte{tagGlobal, gDeleteQ})
		if after == 0 {
			start = []byte{tagGlobal, gDeleteQ}
		}
		var derr error
		err := t.Scan(start, end, limit, func(k, v []byte) bool {
			var d deletion
			derr = decode(k, v, &d)
			out = append(out, Deletion{Chunk: d.Chunk, Replicas: d.Replicas})
			return derr == nil
		})
		return firstErr(err, derr)
	})
	return out, err
}

// dropCopies deletes chunk's copies on the dataservers ids; those that do
// not answer are queued for deletion (ReclaimChunks retries them).
func (s *Service) dropCopies(ctx context.Context, chunk ChunkID, ids []string) error {
	var left []string
	for _, id := range ids {
		addr, err := s.dataserverAddr(ctx, id)
		if err == nil {
			err = s.dataservers.Delete(ctx, addr, uint64(chunk))
		}
		if err != nil && !isErrno(err, syscall.ENOENT) {
			s.log.Warn("delete a surplus copy: queued for later", "chunk", chunk, "dataserver", id, "err", err)
			left = append(left, id)
		}
	}
	if len(left) == 0 {
		return nil
	}
	return s.update(ctx, func(t *tx) error { return t.queueDeletion(chunk, left) })
}

// queueDeletion queues the deletion of chunk's copies on ids, with those
// already queued.
func (t *tx) queueDeletion(chunk ChunkID, ids []string) error {
	d, err := t.queuedDeletion(chunk)
	if err != nil {
		return err
	}
	if d == nil {
		d = &deletion{Chunk: chunk, Queued: t.now}
	}
	for _, id := range ids {
		if !slices.Contains(d.Replicas, id) {
			d.Replicas = append(d.Replicas, id)
		}
	}
	t.mustSet(deleteQueueKey(chunk), encode(d))
	return nil
}

// unqueueDeletion takes ids out of chunk's queued deletion, if any.
func (t *tx) unqueueDeletion(chunk ChunkID, ids []string) error {
	d, err := t.queuedDeletion(chunk)
	if err != nil || d == nil {
		return err
	}
	k := deleteQueueKey(chunk)
	left := without(d.Replicas, ids)
	switch {
	case len(left) == len(d.Replicas):
	case len(left) == 0:
		t.mustDelete(k)
	default:
		d.Replicas = left
		t.mustSet(k, encode(d))
	}
	return nil
}

// queuedDeletion returns chunk's queued deletion, or nil.
func (t *tx) queuedDeletion(chunk ChunkID) (*deletion, error) {
	k := deleteQueueKey(chunk)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return nil, err
	}
	var d deletion
	return &d, decode(k, v, &d)
}

// reclaim deletes d's copies and updates the queue: gone when every copy
// is, else down to the copies left.
func (s *Service) reclaim(ctx context.Context, d Deletion) error {
	var left []string
	var errs []error
	for _, id := range d.Replicas {
		addr, err := s.dataserverAddr(ctx, id)
		if err == nil {
			err = s.dataservers.Delete(ctx, addr, uint64(d.Chunk))
		}
		if err != nil && !isErrno(err, syscall.ENOENT) {
			left = append(left, id)
			errs = append(errs, fmt.Errorf("delete chunk %s on %s: %w", d.Chunk, id, err))
		}
	}
	if len(left) == len(d.Replicas) && len(left) > 0 {
		return errors.Join(errs...)
	}
	err := s.update(ctx, func(t *tx) error {
		if len(left) == 0 {
			t.mustDelete(deleteQueueKey(d.Chunk))
			return nil
		}
		rec, err := t.queuedDeletion(d.Chunk)
		if err != nil || rec == nil {
			return err
		}
		rec.Replicas = left
		t.mustSet(deleteQueueKey(d.Chunk), encode(rec))
		return nil
	})
	return errors.Join(append(errs, err)...)
}
