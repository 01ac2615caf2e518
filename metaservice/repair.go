package metaservice

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Repair of damaged copies. A dataserver reports, in its heartbeats, the
// chunk copies in which it found bad blocks (its scrubber, or a reader).
// For a copy that is a replica, the chunk's primary is made to check the
// copy again (its replica list is given to it without the copy, then with
// it: a copy added to a primary's list gets a full-copy check), and the
// replica reports the bad blocks' checksums spoiled, so that the check
// sends exactly those blocks. A damaged primary copy is first moved off
// (repair_primary.go), after which it is a replica copy like the others.

// repairRetry is how long a started repair is given before it is tried
// again.
const repairRetry = time.Minute

// repairsPruneAt is how many remembered starts make due forget the old
// ones (a pass over the map, not one per call).
const repairsPruneAt = 1024

// repairs remembers the repairs started, by chunk and dataserver.
type repairs struct {
	mu      sync.Mutex
	started map[string]time.Time
}

// due reports whether the repair of chunk on ds should start now, and
// notes that it does.
func (r *repairs) due(chunk uint64, ds string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := fmt.Sprintf("%x/%s", chunk, ds)
	if t, ok := r.started[k]; ok && now.Sub(t) < repairRetry {
		return false
	}
	if r.started == nil {
		r.started = map[string]time.Time{}
	}
	if len(r.started) >= repairsPruneAt { // only recent starts matter
		for old, t := range r.started {
			if now.Sub(t) >= repairRetry {
				delete(r.started, old)
			}
		}
	}
	r.started[k] = now
	return true
}

// RepairDamaged starts the repair of the damaged copies the dataservers
// report (see above).
func (s *Service) RepairDamaged(ctx context.Context) error {
	list, err := s.listDataservers(ctx)
	if err != nil {
		return err
	}
	want := map[uint64][]string{} // chunk → dataservers with a damaged replica copy
	for _, d := range list {
		for _, dc := range d.Damaged {
			if !s.repairs.due(dc.Chunk, d.ID, time.Unix(0, s.now())) {
				continue
			}
			if dc.Ino == 0 {
				want[dc.Chunk] = append(want[dc.Chunk], d.ID)
			} else if err := s.repairPrimaryCopy(ctx, Ino(dc.Ino), dc.Index, dc.Chunk, d.ID); err != nil {
				s.log.Warn("repair a damaged primary copy", "chunk", fmt.Sprintf("%x", dc.Chunk), "primary", d.ID, "err", err)
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	return s.recheckCopies(ctx, want)
}

// recheckCopies finds the records of the chunks in want and makes their
// primaries check the copies named there again.
func (s *Service) recheckCopies(ctx context.Context, want map[uint64][]string) error {
	found, err := s.recordsOf(ctx, want)
	if err != nil {
		return err
	}
	for _, c := range found {
		rec := *c.rec
		rec.Replicas = slices.DeleteFunc(slices.Clone(rec.Replicas), func(r Replica) bool {
			return slices.Contains(want[uint64(rec.ID)], r.Dataserver)
		})
		err := s.shipTo(ctx, c.ino, c.index, &rec)
		if err == nil {
			err = s.shipTo(ctx, c.ino, c.index, c.rec)
		}
		if err != nil {
			s.log.Warn("repair a damaged copy", "chunk", rec.ID, "copies", want[uint64(rec.ID)], "err", err)
			continue
		}
		s.log.Info("repairing damaged copies from the primary", "chunk", rec.ID, "primary", rec.Primary, "copies", want[uint64(rec.ID)])
	}
	return nil
}

// recordsOf finds the chunk records of the chunks in want (one scan of
// every chunk record: damage is rare).
func (s *Service) recordsOf(ctx context.Context, want map[uint64][]string) ([]sweptChunk, error) {
	var out []sweptChunk
	err := s.eachChunkRecord(ctx, func(ino Ino, index uint32, rec *ChunkRecord) error {
		if _, ok := want[uint64(rec.ID)]; ok && rec.Primary != "" {
			out = append(out, sweptChunk{ino: ino, index: index, rec: rec})
		}
		return nil
	})
	return out, err
}
