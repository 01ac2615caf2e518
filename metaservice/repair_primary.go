package metaservice

import (
	"context"
	"fmt"
	"syscall"
)

// Repair of a damaged primary copy. A primary's copy cannot be mended by
// its own shipping, and it must not stay the copy every other one is made
// from. When a replica holds every version the primary holds, the chunk
// moves to that replica the way a lease moves (handover.go): the holder is
// fenced, the record names the replica primary under the next epoch with
// no live lease (the next writer takes one from it), and the damaged copy
// becomes a replica of the new primary. Added to the new primary's list,
// it gets a full-copy check, in which it reports its bad blocks' checksums
// spoiled, so exactly those blocks are sent. When no replica is current,
// the damage stays reported (lis status) and reads of the bad blocks keep
// failing with EIO: nothing is invented.

// repairPrimaryCopy moves chunk index of ino, whose primary ds reported
// its copy damaged, to a current replica.
func (s *Service) repairPrimaryCopy(ctx context.Context, ino Ino, index uint32, chunk uint64, ds string) error {
	c, err := s.chunkRecord(ctx, ino, index)
	if err != nil {
		return err
	}
	if uint64(c.ID) != chunk || c.Primary != ds {
		return nil // moved meanwhile: the copy is a replica now
	}
	// Look before fencing, at the primary's own version (the record's
	// lags it): a move that cannot happen should not cost the writer its
	// lease.
	now, err := s.copyOf(ctx, ds, chunk, nil)
	if err != nil {
		return err
	}
	if _, err := s.currentReplica(ctx, c, now.version); err != nil {
		return err
	}
	old, err := s.fence(ctx, c)
	if err != nil {
		return err
	}
	if old.peer.ID != ds {
		return errnof(syscall.EAGAIN, "chunk %s: its damaged primary %s does not answer", c.ID, ds)
	}
	best, err := s.currentReplica(ctx, c, old.version)
	if err != nil {
		return err
	}
	moved, err := s.moveOff(ctx, ino, index, c, best)
	if err != nil {
		return err
	}
	s.log.Warn("chunk moved off its damaged primary copy", "chunk", c.ID, "damaged", ds, "new_primary", best.peer.ID, "version", best.version)
	s.settle(ctx, ino, index, moved, old)
	return nil
}

// currentReplica returns a replica copy of c holding version (the
// primary's), or EAGAIN.
func (s *Service) currentReplica(ctx context.Context, c *ChunkRecord, version uint64) (chunkCopy, error) {
	for _, r := range c.Replicas {
		if r.Dataserver == c.Primary {
			continue
		}
		cp, err := s.copyOf(ctx, r.Dataserver, uint64(c.ID), nil)
		if err == nil && cp.version == version && version > 0 {
			return cp, nil
		}
	}
	return chunkCopy{}, errnof(syscall.EAGAIN, "chunk %s: no replica holds version %d of its damaged primary %s: the damage stays reported",
		c.ID, version, c.Primary)
}

// moveOff records best as the primary of the chunk seen as seen, under
// the next epoch and with no live lease, if the record did not move
// meanwhile.
func (s *Service) moveOff(ctx context.Context, ino Ino, index uint32, seen *ChunkRecord, best chunkCopy) (*ChunkRecord, error) {
	var out *ChunkRecord
	err := s.update(ctx, func(t *tx) error {
		c, err := t.chunk(ino, index)
		if err != nil {
			return err
		}
		if c == nil || c.ID != seen.ID || c.Primary != seen.Primary || c.LeaseEpoch != seen.LeaseEpoch {
			return errnof(syscall.EAGAIN, "chunk %s moved meanwhile", seen.ID)
		}
		c.Primary, c.LeaseEpoch, c.LeaseExpiry = best.peer.ID, c.LeaseEpoch+1, 0
		c.Version = max(c.Version, best.version)
		c.setReplicaVersion(best.peer.ID, best.version)
		c.setReplicaVersion(seen.Primary, best.version)
		t.mustSet(chunkKey(ino, index), encode(c))
		out = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("move chunk %s off its damaged primary %s: %w", seen.ID, seen.Primary, err)
	}
	return out, nil
}
