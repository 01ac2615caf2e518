package metaservice

import (
	"context"
	"fmt"
	"slices"
)

// Garbage collection across the cluster (lis gc). A chunk a dataserver
// holds is garbage when no chunk record names that dataserver as one of
// its copies, and no deletion of it there is queued already: a leftover
// of a crashed create, of a copy dropped while the dataserver was away,
// of a deletion message that never arrived. A copy on its way is named by
// its record before any byte of it is shipped (placement commits the
// record first), so only the caller's grace period (lis gc --grace, by
// the time the chunk last changed) stands between a record being written
// and this answer.

// GarbageChunks returns the chunks of held (on dataserver ds) that are
// garbage; with collect it also queues their deletion there, which the
// reclaim loop carries out. It reads every chunk record: an
// administrative call, not one for every heartbeat.
func (s *Service) GarbageChunks(ctx context.Context, ds string, held []uint64, collect bool) ([]uint64, error) {
	named, err := s.chunksOn(ctx, ds)
	if err != nil {
		return nil, err
	}
	queued, err := s.PendingDeletions(ctx, 1<<30)
	if err != nil {
		return nil, err
	}
	for _, d := range queued {
		if slices.Contains(d.Replicas, ds) {
			named[uint64(d.Chunk)] = true
		}
	}
	var out []uint64
	for _, id := range held {
		if !named[id] {
			out = append(out, id)
		}
	}
	if !collect || len(out) == 0 {
		return out, nil
	}
	err = s.update(ctx, func(t *tx) error {
		for _, id := range out {
			if err := t.queueDeletion(ChunkID(id), []string{ds}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue the deletion of %d chunks on %s: %w", len(out), ds, err)
	}
	s.log.Info("garbage chunks queued for deletion", "dataserver", ds, "chunks", len(out))
	return out, nil
}

// chunksOn returns the chunks whose records name ds as a copy.
func (s *Service) chunksOn(ctx context.Context, ds string) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	err := s.eachChunkRecord(ctx, func(_ Ino, _ uint32, c *ChunkRecord) error {
		if c.Primary == ds || slices.ContainsFunc(c.Replicas, func(r Replica) bool { return r.Dataserver == ds }) {
			out[uint64(c.ID)] = true
		}
		return nil
	})
	return out, err
}
