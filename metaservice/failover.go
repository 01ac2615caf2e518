package metaservice

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"syscall"
)

// Primary failover. When a chunk's primary is lost (sweep.go), the live
// copy with the highest version takes over: the record names it primary
// under the next lease epoch, with no live lease (the next writer takes
// one from it, as from any primary), so re-replication can ship from it
// and readers find a current copy. The old primary leaves the record and
// its copy is queued for retirement (deleted if it returns holding
// nothing past the promoted copy, quarantined if it diverged: see
// retireCopy), and the new one is told at once that
// it is the primary, after which it refuses any replication stream for
// the chunk (dataserver: applyReplicated). What versions the lost primary had
// acknowledged beyond that copy were only ever on it (write_ack
// local_only, or a copy not yet shipped): they are lost. That is recorded
// (a LostWrite per chunk: file, byte range, versions) and logged, and lis
// status shows it: never papered over. A chunk with no live copy at all
// keeps its record (its data may come back with its dataserver), and is
// reported lost too.

// LostWrite records writes acknowledged only on a lost primary.
type LostWrite struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino     Ino
	Index   uint32
	Chunk   ChunkID
	Primary string // the lost primary
	// From and To are the versions lost (From..To); From is 1 and NoCopy
	// set when no live copy of the chunk was found at all.
	From, To uint64
	NoCopy   bool
	At       int64 // when the loss was found, Unix ns
}

// Range is the byte range of the file the lost versions fell in: the
// chunk's (versions do not say which bytes they wrote).
func (l *LostWrite) Range() (start, end uint64) {
	return uint64(l.Index) * ChunkSize, uint64(l.Index+1) * ChunkSize
}

// failover makes the best live copy of c (the record of chunk index of
// ino, seen with a lost primary) its primary.
func (s *Service) failover(ctx context.Context, ino Ino, index uint32, c *ChunkRecord, lost map[string]bool) error {
	var best chunkCopy
	for _, r := range c.Replicas {
		if lost[r.Dataserver] || r.Dataserver == c.Primary {
			continue
		}
		cp, err := s.copyOf(ctx, r.Dataserver, uint64(c.ID), nil)
		if err == nil && cp.version > 0 && (best.peer.ID == "" || cp.version > best.version) {
			best = cp
		}
	}
	if best.peer.ID == "" {
		return s.recordLoss(ctx, LostWrite{Ino: ino, Index: index, Chunk: c.ID, Primary: c.Primary,
			From: 1, To: c.Version, NoCopy: true})
	}
	return s.promote(ctx, ino, index, c, best)
}

// promote records best as c's primary, if the record did not move since
// it was seen, and the versions lost with the old primary.
func (s *Service) promote(ctx context.Context, ino Ino, index uint32, seen *ChunkRecord, best chunkCopy) error {
	var loss *LostWrite
	var promoted *ChunkRecord
	err := s.update(ctx, func(t *tx) error {
		c, err := t.chunk(ino, index)
		if err != nil || c == nil || c.ID != seen.ID || c.Primary != seen.Primary || c.LeaseEpoch != seen.LeaseEpoch {
			return err // gone, or moved meanwhile: nothing to fail over
		}
		loss = nil
		if best.version < c.Version {
			loss = &LostWrite{Ino: ino, Index: index, Chunk: c.ID, Primary: c.Primary, From: best.version + 1, To: c.Version, At: t.now}
			t.mustSet(lostKey(c.ID), encode(loss))
		}
		old := c.Primary
		c.Primary, c.LeaseEpoch, c.LeaseExpiry = best.peer.ID, c.LeaseEpoch+1, 0
		c.Version = best.version
		c.Replicas = slices.DeleteFunc(c.Replicas, func(r Replica) bool { return r.Dataserver == old })
		c.setReplicaVersion(best.peer.ID, best.version)
		t.mustSet(chunkKey(ino, index), encode(c))
		promoted = c
		// The old primary's copy may hold versions no other copy has: if
		// it returns, it is never served or shipped from, but quarantined
		// (or deleted, if it holds nothing past best).
		return t.queueDivergent(c.ID, old, best.version)
	})
	if err != nil {
		return fmt.Errorf("fail chunk %s over to %s: %w", seen.ID, best.peer.ID, err)
	}
	s.log.Warn("chunk failed over: its primary is lost", "ino", ino, "index", index, "chunk", seen.ID,
		"lost_primary", seen.Primary, "new_primary", best.peer.ID, "version", best.version)
	if loss != nil {
		s.logLoss(loss)
	}
	if promoted == nil {
		return nil
	}
	// The new primary learns at once that the chunk is its own: from then
	// on it takes no replication stream for it (a returning old primary's
	// included), and ships to the other copies.
	return s.shipTo(ctx, ino, index, promoted)
}

// recordLoss records l (once per chunk and versions) and logs it.
func (s *Service) recordLoss(ctx context.Context, l LostWrite) error {
	fresh := false
	err := s.update(ctx, func(t *tx) error {
		old, err := t.Get(lostKey(l.Chunk))
		if err != nil || old != nil {
			return err
		}
		l.At, fresh = t.now, true
		t.mustSet(lostKey(l.Chunk), encode(&l))
		return nil
	})
	if fresh {
		s.logLoss(&l)
	}
	if err == nil && l.NoCopy {
		err = errnof(syscall.EAGAIN, "chunk %s: no live copy; its data is on %s", l.Chunk, l.Primary)
	}
	return err
}

func (s *Service) logLoss(l *LostWrite) {
	from, to := l.Range()
	s.log.Error("writes lost with their dataserver", "ino", l.Ino, "range", fmt.Sprintf("[%d, %d)", from, to),
		"versions", fmt.Sprintf("%d-%d", l.From, l.To), "chunk", l.Chunk, "dataserver", l.Primary, "no_live_copy", l.NoCopy)
}

func lostKey(c ChunkID) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagGlobal, gLost}, uint64(c))
}

// lostWrites returns up to limit recorded losses.
func (s *Service) lostWrites(ctx context.Context, limit int) ([]LostWrite, error) {
	var out []LostWrite
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		prefix := []byte{tagGlobal, gLost}
		var derr error
		err := t.Scan(prefix, prefixEnd(prefix), limit, func(k, v []byte) bool {
			var l LostWrite
			derr = decode(k, v, &l)
			out = append(out, l)
			return derr == nil
		})
		return firstErr(err, derr)
	})
	return out, err
}
