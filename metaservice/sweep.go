package metaservice

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lis-fs/lis/metaservice/registry"
)

// Re-replication. A dataserver silent for Options.RereplicateAfter (which
// is at least the time after which it is down) is taken to be lost: the
// copies it held are gone until it returns. The redundancy sweep walks
// the chunk records in bounded steps, from a cursor kept in the store (a
// restarted metaservice resumes where it was), and for each chunk with a
// copy on a lost dataserver
//
//   - fails the chunk over to its best live copy if its primary is lost
//     (failover.go), and
//   - queues a placement review of its file (review.go): the review
//     places the copies the policy wants on live dataservers, the primary
//     ships to them (under its replication limit, as any replication),
//     and the lost copy is dropped once they hold the primary's version.
//
// Within a step the most endangered chunks go first: fewest live copies,
// then most data. A pass over every chunk record starts whenever the set
// of lost dataservers changes; one that ends leaves the cursor at its end
// until the set changes again.

// sweepBatch bounds the chunk records one step reads; sweepBudget the time
// one tick spends stepping (at least one step is taken). Tests lower them
// through Service.sweepLimits.
const (
	sweepBatch  = 8192
	sweepBudget = 500 * time.Millisecond
)

// sweepLimits are a Service's sweepBatch and sweepBudget.
type sweepLimits struct {
	batch  int
	budget time.Duration
}

// SweepState is the sweep's cursor and progress, kept in the store.
type SweepState struct {
	_msgpack struct{} `msgpack:",as_array"`

	Lost    []string // the lost dataservers this pass is for, sorted
	After   []byte   // the last chunk key swept
	Done    bool
	Started int64
	// Found counts the chunks with a copy on a lost dataserver, and
	// FoundBytes their data; Failovers the chunks whose primary was lost.
	Found      int
	FoundBytes int64
	Failovers  int
}

// sweptChunk is a chunk with a copy on a lost dataserver.
type sweptChunk struct {
	ino   Ino
	index uint32
	rec   *ChunkRecord
	live  int // copies on dataservers not lost
}

// SweepRedundancy takes the sweep's steps for one tick (see above).
func (s *Service) SweepRedundancy(ctx context.Context) error {
	lost, err := s.lostDataservers(ctx)
	if err != nil {
		return err
	}
	st, err := s.sweepState(ctx)
	if err != nil {
		return err
	}
	switch {
	case !slices.Equal(st.Lost, lost):
		if len(lost) > 0 {
			s.log.Warn("dataservers lost: re-replicating their copies", "lost", lost)
		}
		st = &SweepState{Lost: lost, Started: s.now(), Done: len(lost) == 0}
	case st.Done:
		return nil // nothing new lost since the last pass ended
	}
	for start := time.Now(); !st.Done; {
		if err := s.sweepStep(ctx, st); err != nil {
			return err
		}
		if time.Since(start) >= s.sweepLimits.budget {
			break
		}
	}
	if err := s.saveSweep(ctx, st); err != nil || !st.Done {
		return err
	}
	return s.forgetLostReports(ctx, st.Lost)
}

// forgetLostReports clears what the lost dataservers last reported of
// their chunks (lag, danger): a finished pass has failed their chunks
// over and recorded what was lost with them (LostWrite), so lis status
// must not go on showing those reports as data at risk.
func (s *Service) forgetLostReports(ctx context.Context, lost []string) error {
	return s.update(ctx, func(t *tx) error {
		for _, id := range lost {
			d, err := t.dataserver(id)
			if err != nil || d == nil {
				return err
			}
			d.Peers, d.Danger = nil, registry.Danger{}
			t.mustSet(dataserverKey(id), encode(d))
		}
		return nil
	})
}

// lostDataservers returns the registered dataservers silent for longer
// than Options.RereplicateAfter, sorted.
func (s *Service) lostDataservers(ctx context.Context) ([]string, error) {
	list, err := s.listDataservers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range list {
		if d.Liveness == registry.Down && s.now()-d.LastBeat >= int64(s.opts.RereplicateAfter) {
			out = append(out, d.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// sweepStep sweeps the next batch of chunk records.
func (s *Service) sweepStep(ctx context.Context, st *SweepState) error {
	lost := map[string]bool{}
	for _, id := range st.Lost {
		lost[id] = true
	}
	found, next, err := s.scanLostCopies(ctx, st.After, lost, s.sweepLimits.batch)
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b sweptChunk) int {
		return cmp.Or(cmp.Compare(a.live, b.live), cmp.Compare(b.rec.Blocks, a.rec.Blocks))
	})
	for _, c := range found {
		if err := s.healChunk(ctx, c, lost, st); err != nil {
			s.log.Warn("re-replication", "ino", c.ino, "chunk", c.rec.ID, "err", err)
		}
	}
	st.After, st.Done = next, next == nil
	return nil
}

// healChunk fails c over if its primary is lost, and queues its file's
// review.
func (s *Service) healChunk(ctx context.Context, c sweptChunk, lost map[string]bool, st *SweepState) error {
	st.Found++
	st.FoundBytes += int64(c.rec.Blocks) * DataBlockSize
	if lost[c.rec.Primary] {
		st.Failovers++
		if err := s.failover(ctx, c.ino, c.index, c.rec, lost); err != nil {
			return err
		}
	}
	return s.update(ctx, func(t *tx) error {
		t.queueReview(c.ino)
		return nil
	})
}

// scanLostCopies reads up to batch chunk records after the key after
// (from the first, if nil), shard by shard, and returns those with a copy
// on a lost dataserver, and the last key read (nil once all are read).
func (s *Service) scanLostCopies(ctx context.Context, after []byte, lost map[string]bool, batch int) ([]sweptChunk, []byte, error) {
	shards, err := s.ListShards(ctx)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(shards, func(a, b ShardInfo) int { return cmp.Compare(a.ID, b.ID) })
	var found []sweptChunk
	read := 0
	for _, sh := range shards {
		start, end := kindRange(sh.ID, kChunk)
		if after != nil && bytes.Compare(after, end) >= 0 {
			continue
		}
		if after != nil && bytes.Compare(after, start) >= 0 {
			start = append(slices.Clone(after), 0)
		}
		err := s.view(ctx, func(t *tx) error {
			return t.Scan(start, end, batch-read, func(k, v []byte) bool {
				read++
				after = append(after[:0], k...)
				var rec ChunkRecord
				if decode(k, v, &rec) == nil {
					if c, ok := lostCopy(k, &rec, lost); ok {
						found = append(found, c)
					}
				}
				return true
			})
		})
		if err != nil {
			return nil, nil, fmt.Errorf("sweep shard %d: %w", sh.ID, err)
		}
		if read == batch {
			return found, slices.Clone(after), nil
		}
	}
	return found, nil, nil
}

// lostCopy reports whether rec, at key k, has a copy on a lost dataserver.
func lostCopy(k []byte, rec *ChunkRecord, lost map[string]bool) (sweptChunk, bool) {
	c := sweptChunk{ino: inoOfKey(k), index: chunkIndexOf(k), rec: rec}
	hit := lost[rec.Primary]
	for _, r := range rec.Replicas {
		if lost[r.Dataserver] {
			hit = true
		} else {
			c.live++
		}
	}
	return c, hit
}

func sweepKey() []byte { return []byte{tagGlobal, gSweep} }

func (s *Service) sweepState(ctx context.Context) (*SweepState, error) {
	st := &SweepState{Done: true}
	err := s.view(ctx, func(t *tx) error {
		v, err := t.Get(sweepKey())
		if err != nil || v == nil {
			return err
		}
		return decode(sweepKey(), v, st)
	})
	return st, err
}

func (s *Service) saveSweep(ctx context.Context, st *SweepState) error {
	return s.update(ctx, func(t *tx) error {
		t.mustSet(sweepKey(), encode(st))
		return nil
	})
}
