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
			out = append(out, Deletion{Chunk: d.Chunk, Replicas: d.Replicas, Diverged: d.Diverged})
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
	return t.queueDeletionWith(chunk, ids, nil)
}

// queueDivergent queues the deletion of chunk's copy on id, which may
// hold versions past version that no other copy saw: if it does when the
// deletion reaches it, it is quarantined instead (see retireCopy).
func (t *tx) queueDivergent(chunk ChunkID, id string, version uint64) error {
	return t.queueDeletionWith(chunk, []string{id}, func(d *deletion) {
		if d.Diverged == nil {
			d.Diverged = map[string]uint64{}
		}
		d.Diverged[id] = version
	})
}

// queueDeletionWith is queueDeletion, with mod (if not nil) applied to
// the queued record.
func (t *tx) queueDeletionWith(chunk ChunkID, ids []string, mod func(*deletion)) error {
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
	if mod != nil {
		mod(d)
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
	// A copy that may have diverged goes first, wanted or not (setCopies
	// does not add its dataserver meanwhile).
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool {
		_, diverged := d.Diverged[id]
		return diverged
	})
	t.putDeletion(d, without(d.Replicas, ids))
	return nil
}

// putDeletion stores d with only the copies left to retire (the record
// goes when none is).
func (t *tx) putDeletion(d *deletion, left []string) {
	k := deleteQueueKey(d.Chunk)
	switch {
	case len(left) == len(d.Replicas):
	case len(left) == 0:
		t.mustDelete(k)
	default:
		d.Replicas = left
		for id := range d.Diverged {
			if !slices.Contains(left, id) {
				delete(d.Diverged, id)
			}
		}
		t.mustSet(k, encode(d))
	}
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
		if err := s.retireCopy(ctx, id, d); err != nil && !isErrno(err, syscall.ENOENT) {
			left = append(left, id)
			errs = append(errs, fmt.Errorf("delete chunk %s on %s: %w", d.Chunk, id, err))
		}
	}
	if len(left) == len(d.Replicas) && len(left) > 0 {
		return errors.Join(errs...)
	}
	retired := without(d.Replicas, left)
	err := s.update(ctx, func(t *tx) error {
		// Read again: copies may have been queued since d was listed. A
		// copy retired here leaves the record only if it was retired as
		// what the record says it is now (removed, or quarantined).
		rec, err := t.queuedDeletion(d.Chunk)
		if err != nil || rec == nil {
			return err
		}
		t.putDeletion(rec, without(rec.Replicas, slices.DeleteFunc(slices.Clone(retired), func(id string) bool {
			_, now := rec.Diverged[id]
			_, then := d.Diverged[id]
			return now != then
		})))
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// retireCopy deletes chunk d.Chunk's copy on id, or, when the copy holds
// versions past those the chunk's other copies had (d.Diverged), has the
// dataserver quarantine it: it is never served again, and the writes only
// it saw (recorded as lost, lis status) wait there for an operator.
func (s *Service) retireCopy(ctx context.Context, id string, d Deletion) error {
	addr, err := s.dataserverAddr(ctx, id)
	if err != nil {
		return err
	}
	past, diverged := d.Diverged[id]
	if !diverged {
		return s.dataservers.Delete(ctx, addr, uint64(d.Chunk))
	}
	info, err := s.dataservers.ChunkInfo(ctx, addr, uint64(d.Chunk))
	switch {
	case err != nil:
		return err
	case info.Version <= past:
		return s.dataservers.Delete(ctx, addr, uint64(d.Chunk)) // behind, not diverged
	}
	s.log.Warn("quarantining a copy that diverged", "chunk", d.Chunk, "dataserver", id,
		"version", info.Version, "others_had", past)
	return s.dataservers.Quarantine(ctx, addr, uint64(d.Chunk))
}
