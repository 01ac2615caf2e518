package metaservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/replicaset"
)

// Placement review. When a directory's policy is set, replaced or cleared,
// or a file or subtree moves to another directory, the chunks below may
// no longer be placed as their policy says. The transaction that makes the
// change also queues a review of the subtree (key gReview + inode); the
// background loop (ReviewPlacement, every Options.ReclaimInterval) works
// through the queue in bounded steps, each its own transaction, so that a
// metaservice that restarts resumes where it was:
//
//   - a directory's review queues a review of each child (that has no
//     policy of its own: a child's own policy did not change), a bounded
//     number per step, remembering where in the directory it was;
//   - a file's review re-places each of its chunks (reviewChunk), and stays
//     queued until every chunk is placed as its policy says.
//
// A chunk gains the copies its policy now wants at once (the primary ships
// to them); the copies it no longer wants are dropped only once every
// wanted copy holds the primary's version, so that the chunk never has
// fewer current copies than either policy asks for.

// reviewBatch bounds the queued reviews one pass takes, and the directory
// entries one step of a directory's review queues.
const reviewBatch = 256

// reviewJob is a queued review of the placement of ino's subtree; for a
// directory, Cookie is where in its entries the review goes on.
type reviewJob struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino    Ino
	Cookie uint64
	Queued int64
}

// queueReview queues a review of the placement of ino's subtree.
func (t *tx) queueReview(ino Ino) {
	t.mustSet(reviewKey(ino), encode(&reviewJob{Ino: ino, Queued: t.now}))
}

// ReviewPlacement works through the placement review queue (see above).
// It returns the errors of reviews that could not finish; they stay
// queued for the next pass.
func (s *Service) ReviewPlacement(ctx context.Context) error {
	// Each pass goes on after the last one's jobs, so that reviews that
	// cannot finish yet (a primary down) do not hold back the rest.
	jobs, err := s.reviewJobs(ctx, Ino(s.reviewAfter.Load()), reviewBatch)
	if err != nil {
		return err
	}
	if len(jobs) < reviewBatch {
		s.reviewAfter.Store(0) // the end: the next pass starts over
	} else {
		s.reviewAfter.Store(uint64(jobs[len(jobs)-1].Ino))
	}
	var errs []error
	for _, j := range jobs {
		if err := s.review(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("placement review of inode %d: %w", j.Ino, err))
		}
	}
	return errors.Join(errs...)
}

// PendingReviews is how many placement reviews are queued (at most limit).
func (s *Service) PendingReviews(ctx context.Context, limit int) (int, error) {
	jobs, err := s.reviewJobs(ctx, 0, limit)
	return len(jobs), err
}

// reviewJobs returns up to limit queued reviews of inodes after after, in
// inode order.
func (s *Service) reviewJobs(ctx context.Context, after Ino, limit int) ([]reviewJob, error) {
	var out []reviewJob
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		prefix := []byte{tagGlobal, gReview}
		start := prefix
		if after > 0 {
			start = reviewKey(after + 1)
		}
		var derr error
		err := t.Scan(start, prefixEnd(prefix), limit, func(k, v []byte) bool {
			var j reviewJob
			derr = decode(k, v, &j)
			out = append(out, j)
			return derr == nil
		})
		return firstErr(err, derr)
	})
	return out, err
}

// review takes one step of job j.
func (s *Service) review(ctx context.Context, j reviewJob) error {
	var a *Attr
	err := s.view(ctx, func(t *tx) error {
		var err error
		a, err = t.attr(j.Ino)
		return err
	})
	switch {
	case isErrno(err, syscall.ENOENT):
		return s.finishReview(ctx, j) // gone: its chunks are being reclaimed
	case err != nil:
		return err
	case a.IsDir():
		return s.reviewDir(ctx, j)
	case a.Type() != syscall.S_IFREG:
		return s.finishReview(ctx, j)
	}
	done, err := s.reviewFile(ctx, j.Ino)
	if err != nil || !done {
		return err
	}
	return s.finishReview(ctx, j)
}

// finishReview drops j from the queue, unless it was queued again since.
func (s *Service) finishReview(ctx context.Context, j reviewJob) error {
	return s.update(ctx, func(t *tx) error {
		cur, err := t.reviewJob(j.Ino)
		if err != nil || cur == nil || cur.Queued != j.Queued || cur.Cookie != j.Cookie {
			return err
		}
		t.mustDelete(reviewKey(j.Ino))
		return nil
	})
}

func (t *tx) reviewJob(ino Ino) (*reviewJob, error) {
	k := reviewKey(ino)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return nil, err
	}
	var j reviewJob
	return &j, decode(k, v, &j)
}

// reviewDir queues the review of up to reviewBatch children of j's
// directory and moves j past them, in one transaction.
func (s *Service) reviewDir(ctx context.Context, j reviewJob) error {
	return s.update(ctx, func(t *tx) error {
		cur, err := t.reviewJob(j.Ino)
		if err != nil || cur == nil || cur.Queued != j.Queued || cur.Cookie != j.Cookie {
			return err // finished or restarted meanwhile
		}
		var ents []DirEntry
		if err := t.scanDir(j.Ino, max(j.Cookie, hashOffset), reviewBatch, &ents); err != nil {
			return err
		}
		for _, e := range ents {
			if err := t.queueChildReview(e); err != nil {
				return err
			}
		}
		if len(ents) < reviewBatch {
			t.mustDelete(reviewKey(j.Ino))
			return nil
		}
		cur.Cookie = ents[len(ents)-1].Cookie
		t.mustSet(reviewKey(j.Ino), encode(cur))
		return nil
	})
}

// queueChildReview queues the review of a directory entry's inode, unless
// it is a directory with a policy of its own or neither a directory nor a
// regular file.
func (t *tx) queueChildReview(e DirEntry) error {
	switch e.Type {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		own, err := t.policy(e.Ino)
		if err != nil || own != nil {
			return err
		}
	default:
		return nil
	}
	t.queueReview(e.Ino)
	return nil
}

// reviewFile re-places every chunk of ino under its policy; done says
// every chunk is placed as it wants.
func (s *Service) reviewFile(ctx context.Context, ino Ino) (bool, error) {
	ep, err := s.ResolvePolicy(ctx, ino)
	if err != nil {
		return false, fmt.Errorf("policy: %w", err)
	}
	list, err := s.dataserversNow(ctx)
	if err != nil {
		return false, err
	}
	chunks, err := s.fileChunks(ctx, ino)
	if err != nil {
		return false, err
	}
	done := true
	var errs []error
	for _, c := range chunks {
		ok, err := s.reviewChunk(ctx, ino, c, ep.Policy, list)
		done = done && ok && err == nil
		if err != nil {
			errs = append(errs, fmt.Errorf("chunk %d (%s): %w", c.index, c.rec.ID, err))
		}
	}
	return done, errors.Join(errs...)
}

// indexedChunk is a chunk record and its index in its file.
type indexedChunk struct {
	index uint32
	rec   *ChunkRecord
}

// fileChunks returns the chunk records of ino.
func (s *Service) fileChunks(ctx context.Context, ino Ino) ([]indexedChunk, error) {
	var out []indexedChunk
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start, end := chunkRange(ino, 0)
		var derr error
		err := t.Scan(start, end, 0, func(k, v []byte) bool {
			c := &ChunkRecord{}
			derr = decode(k, v, c)
			out = append(out, indexedChunk{index: chunkIndexOf(k), rec: c})
			return derr == nil
		})
		return firstErr(err, derr)
	})
	return out, err
}

// reviewChunk moves c toward the placement p wants (see the package
// comment above); done says it is there.
func (s *Service) reviewChunk(ctx context.Context, ino Ino, c indexedChunk, p policy.Policy, list []DataserverStatus) (bool, error) {
	primary := c.rec.Primary
	if primary == "" && len(c.rec.Replicas) > 0 {
		primary = c.rec.Replicas[0].Dataserver
	}
	if primary == "" {
		return true, nil // never written anywhere
	}
	list, err := s.withoutDiverged(ctx, c.rec.ID, list)
	if err != nil {
		return false, err
	}
	want, mode := []Replica{{Dataserver: primary}}, dataserver.ReplPriority
	if len(list) > 1 {
		want, mode = place(p, primary, list, replicaIDs(c.rec.Replicas)), replMode(p.Replication)
	}
	have := replicaIDs(c.rec.Replicas)
	wantIDs := replicaIDs(want)
	union := append(slices.Clone(have), without(wantIDs, have)...)
	switch {
	case len(union) > len(have) || c.rec.Mode != mode:
		return false, s.recopy(ctx, ino, c, union, mode)
	case len(have) == len(wantIDs):
		return true, nil
	case len(list) > 1 && len(replicaset.Shortfalls(p, Candidates(list))) > 0:
		// The placement is short of the policy (a dataserver down, full
		// or missing): a copy outside it may be one the policy still
		// needs, so none is dropped until the cluster can hold it.
		return false, nil
	}
	return s.dropSurplus(ctx, ino, c, wantIDs, without(have, wantIDs))
}

// withoutDiverged leaves out of list the dataservers whose copy of chunk
// awaits retirement as a possibly diverged one (queueDivergent): that
// copy must be quarantined or removed before its dataserver takes the
// chunk again, or the new copy's stream would overwrite it.
func (s *Service) withoutDiverged(ctx context.Context, chunk ChunkID, list []DataserverStatus) ([]DataserverStatus, error) {
	var d *deletion
	err := s.view(ctx, func(t *tx) error {
		var err error
		d, err = t.queuedDeletion(chunk)
		return err
	})
	if err != nil || d == nil || len(d.Diverged) == 0 {
		return list, err
	}
	return slices.DeleteFunc(slices.Clone(list), func(x DataserverStatus) bool {
		_, diverged := d.Diverged[x.ID]
		return diverged
	}), nil
}

// recopy makes c's copies ids, shipped in mode: the record first, then the
// primary's replica list.
func (s *Service) recopy(ctx context.Context, ino Ino, c indexedChunk, ids []string, mode dataserver.ReplMode) error {
	rec, err := s.setCopies(ctx, ino, c, ids, mode)
	if err != nil {
		return err
	}
	if rec.Primary == "" {
		return nil // shipped by whoever takes the lease next
	}
	s.demote(ctx, uint64(rec.ID), without(ids, append(replicaIDs(c.rec.Replicas), rec.Primary)))
	return s.shipTo(ctx, ino, c.index, rec)
}

// demote tells each new copy of chunk that it is a replica: one that
// still takes itself for the chunk's primary (a primary that was failed
// over and returned) would refuse the stream that makes it a copy.
// Dataservers that do not answer are logged: the stream to them is
// refused until they are told, never applied wrongly.
func (s *Service) demote(ctx context.Context, chunk uint64, ids []string) {
	for _, id := range ids {
		addr, err := s.dataserverAddr(ctx, id)
		if err == nil {
			err = s.dataservers.SetReplicas(ctx, addr, dataserver.SetReplicasReq{Chunk: chunk})
		}
		if err != nil {
			s.log.Warn("tell a new copy it is a replica", "chunk", fmt.Sprintf("%x", chunk), "dataserver", id, "err", err)
		}
	}
}

// dropSurplus drops c's surplus copies once every copy in keep holds the
// primary's version durably: the record and the primary's list first, so
// that no reader or sender uses them, then the copies themselves (queued
// for deletion where the dataserver does not answer).
func (s *Service) dropSurplus(ctx context.Context, ino Ino, c indexedChunk, keep, surplus []string) (bool, error) {
	if c.rec.Primary == "" {
		return false, nil // no primary to ask whether the others are current
	}
	addr, err := s.dataserverAddr(ctx, c.rec.Primary)
	if err != nil {
		return false, err
	}
	info, err := s.dataservers.ChunkInfo(ctx, addr, uint64(c.rec.ID))
	if err != nil {
		return false, err
	}
	for _, id := range keep {
		if id != c.rec.Primary && !ackedAt(info, id, max(info.Version, c.rec.Version)) {
			return false, nil // not yet: surplus copies wait for the wanted ones
		}
	}
	if err := s.recopy(ctx, ino, c, keep, c.rec.Mode); err != nil {
		return false, err
	}
	s.log.Info("dropping surplus copies", "chunk", c.rec.ID, "ino", ino, "copies", surplus)
	return true, s.dropCopies(ctx, c.rec.ID, surplus)
}

// ackedAt says whether the primary's info shows id durably at version.
func ackedAt(info *dataserver.ChunkInfo, id string, version uint64) bool {
	for _, r := range info.Replicas {
		if r.Peer.ID == id {
			return r.AckedVersion >= version
		}
	}
	return false
}

// setCopies sets the copies and mode of c's record, unless its lease or
// identity changed since it was read (then EAGAIN: the next pass sees the
// new record). Copies kept keep their versions.
func (s *Service) setCopies(ctx context.Context, ino Ino, c indexedChunk, ids []string, mode dataserver.ReplMode) (*ChunkRecord, error) {
	var out *ChunkRecord
	err := s.update(ctx, func(t *tx) error {
		cur, err := t.chunk(ino, c.index)
		if err != nil {
			return err
		}
		if cur == nil || cur.ID != c.rec.ID || cur.Primary != c.rec.Primary || cur.LeaseEpoch != c.rec.LeaseEpoch {
			return errnof(syscall.EAGAIN, "chunk %s changed during its placement review", c.rec.ID)
		}
		reps := make([]Replica, 0, len(ids))
		for _, id := range ids {
			r := Replica{Dataserver: id}
			if i := slices.IndexFunc(cur.Replicas, func(x Replica) bool { return x.Dataserver == id }); i >= 0 {
				r = cur.Replicas[i]
			}
			reps = append(reps, r)
		}
		if err := t.refuseDiverged(cur, ids); err != nil {
			return err
		}
		cur.Replicas, cur.Mode = reps, mode
		t.mustSet(chunkKey(ino, c.index), encode(cur))
		out = cur
		// A copy wanted again must not be deleted by an old queued drop.
		return t.unqueueDeletion(cur.ID, ids)
	})
	return out, err
}

// refuseDiverged fails with EAGAIN when ids would give c a new copy on a
// dataserver whose copy of it awaits retirement as possibly diverged
// (withoutDiverged keeps placement from choosing one; this closes the
// race with a failover that queued it since).
func (t *tx) refuseDiverged(c *ChunkRecord, ids []string) error {
	q, err := t.queuedDeletion(c.ID)
	if err != nil || q == nil {
		return err
	}
	have := replicaIDs(c.Replicas)
	for _, id := range ids {
		if _, diverged := q.Diverged[id]; diverged && !slices.Contains(have, id) {
			return errnof(syscall.EAGAIN, "chunk %s: the copy on %s may have diverged and is not retired yet", c.ID, id)
		}
	}
	return nil
}

func replicaIDs(reps []Replica) []string {
	out := make([]string, len(reps))
	for i, r := range reps {
		out[i] = r.Dataserver
	}
	return out
}

// without returns the elements of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
