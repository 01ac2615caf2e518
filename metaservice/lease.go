package metaservice

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver"
)

// MaxLease is the longest chunk write lease granted.
const MaxLease = time.Hour

// Dataservers is how the metaservice reaches dataservers (package dspool
// dials them by address). The metaservice, never a client, installs a
// lease on the dataserver it names, fences the previous holder, and
// tells a primary where its replicas are.
type Dataservers interface {
	GrantLease(ctx context.Context, addr string, l dataserver.Lease) error
	RevokeLease(ctx context.Context, addr string, chunk, epoch uint64) error
	SetReplicas(ctx context.Context, addr string, req dataserver.SetReplicasReq) error
	ChunkInfo(ctx context.Context, addr string, chunk uint64) (*dataserver.ChunkInfo, error)
	Delete(ctx context.Context, addr string, chunk uint64) error
	Quarantine(ctx context.Context, addr string, chunk uint64) error
}

func checkLease(d time.Duration) error {
	if d <= 0 || d > MaxLease {
		return errnof(syscall.EINVAL, "lease of %s (limit %s)", d, MaxLease)
	}
	return nil
}

// shipTimeout bounds what AllocChunk does on the dataservers once a new
// chunk's record is committed.
const shipTimeout = 30 * time.Second

// AllocChunk returns the record of chunk index of ino, creating it with a
// fresh id and dataserver as its primary if it has none; a new chunk's
// copies are placed by the file's policy (package replicaset), and the
// primary ships to them. When dataserver holds the chunk's live lease
// (always for a new chunk), the lease is installed on it before
// AllocChunk returns; otherwise the caller takes the lease with
// AcquireLease.
func (s *Service) AllocChunk(ctx context.Context, ino Ino, index uint32, ds string, lease time.Duration) (*ChunkRecord, error) {
	if err := checkLease(lease); err != nil {
		return nil, err
	}
	// One transaction reads the record and, if there is none, writes it:
	// the id and placement are chosen before it, from batches and caches,
	// and only wasted (a number skipped) when the chunk exists.
	c, created, err := s.newChunk(ctx, ino, index, ds, lease)
	if err != nil {
		return nil, err
	}
	if !created {
		return c, s.installIfHeld(ctx, c, ds)
	}
	return c, s.startChunk(ctx, ino, index, c, ds)
}

// startChunk tells a new chunk's primary ds of its lease and replicas.
// The record is committed: that must not stop halfway because the caller
// went away (an interrupted write), or the primary would never ship to
// its copies.
func (s *Service) startChunk(ctx context.Context, ino Ino, index uint32, c *ChunkRecord, ds string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shipTimeout)
	defer cancel()
	if err := s.installIfHeld(ctx, c, ds); err != nil || len(c.Replicas) < 2 {
		return err
	}
	return s.shipTo(ctx, ino, index, c)
}

// newChunk creates the record of chunk index of ino, placed by its policy
// with ds as primary, unless another call made it meanwhile (then it
// returns that one, and created is false).
func (s *Service) newChunk(ctx context.Context, ino Ino, index uint32, ds string, lease time.Duration) (c *ChunkRecord, created bool, err error) {
	id, err := s.newChunkID(ctx, ino.Shard())
	if err != nil {
		return nil, false, err
	}
	copies, mode, err := s.placeChunk(ctx, ino, ds)
	if err != nil {
		return nil, false, err
	}
	err = s.update(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if err != nil {
			return err
		}
		if a.Type() != syscall.S_IFREG {
			return errnof(syscall.EINVAL, "chunks of inode %d of type %o", ino, a.Type())
		}
		if c, err = t.chunk(ino, index); err != nil || c != nil {
			created = false
			return err
		}
		c = &ChunkRecord{ID: id, Primary: ds, LeaseEpoch: 1, LeaseExpiry: t.now + int64(lease), Replicas: copies, Mode: mode}
		t.mustSet(chunkKey(ino, index), encode(c))
		created = true
		return nil
	})
	return c, created, err
}

// installIfHeld installs c's lease on ds when ds holds it and it is live.
func (s *Service) installIfHeld(ctx context.Context, c *ChunkRecord, ds string) error {
	if c.Primary != ds || c.LeaseExpiry <= s.now() {
		return nil
	}
	return s.install(ctx, c)
}

// AcquireLease gives dataserver ds the write lease of a chunk for dur and
// installs it there. A lease ds holds is renewed. A lease held by another
// dataserver moves only once ds holds every mutation the holder
// acknowledged (see handover); while the holder's lease is live and it
// does not answer, or ds cannot be brought up to date, the answer is
// EAGAIN, naming the holder. A change of holder bumps the epoch, which
// the dataservers use to refuse writes under an older lease.
func (s *Service) AcquireLease(ctx context.Context, ino Ino, index uint32, ds string, dur time.Duration) (*ChunkRecord, error) {
	if err := checkLease(dur); err != nil {
		return nil, err
	}
	c, err := s.chunkRecord(ctx, ino, index)
	if err != nil {
		return nil, err
	}
	if c.Primary == ds || c.Primary == "" {
		return s.takeLease(ctx, ino, index, c, ds, dur, 0)
	}
	src, err := s.handover(ctx, c, ds)
	if err != nil {
		return nil, fmt.Errorf("move the lease of chunk %s to %s: %w", c.ID, ds, err)
	}
	out, err := s.takeLease(ctx, ino, index, c, ds, dur, src.version)
	if err != nil {
		return nil, err
	}
	if src.peer.ID == c.Primary {
		s.settle(ctx, ino, index, out, src)
	}
	return out, nil
}

func (s *Service) chunkRecord(ctx context.Context, ino Ino, index uint32) (*ChunkRecord, error) {
	var c *ChunkRecord
	err := s.view(ctx, func(t *tx) error {
		var err error
		c, err = t.chunk(ino, index)
		return err
	})
	if err == nil && c == nil {
		err = errnof(syscall.ENOENT, "chunk %d of inode %d", index, ino)
	}
	return c, err
}

// takeLease records ds as the holder of the lease of the chunk whose
// record was seen as seen, then installs the lease on ds. version, when
// not zero, is the version ds was brought to by a handover: the record
// takes it as the version of ds's copy, and of the old holder's. The
// record must not have changed holder since it was seen: a concurrent
// move makes it EAGAIN, and the caller tries again.
func (s *Service) takeLease(ctx context.Context, ino Ino, index uint32, seen *ChunkRecord, ds string, dur time.Duration, version uint64) (*ChunkRecord, error) {
	var out *ChunkRecord
	err := s.update(ctx, func(t *tx) error {
		c, err := t.chunk(ino, index)
		if err != nil {
			return err
		}
		if c == nil || c.ID != seen.ID {
			return errnof(syscall.ENOENT, "chunk %d of inode %d", index, ino)
		}
		if c.Primary != seen.Primary || c.LeaseEpoch != seen.LeaseEpoch {
			return errnof(syscall.EAGAIN, "chunk %s moved to %s meanwhile", c.ID, c.Primary)
		}
		if c.Primary != ds {
			c.LeaseEpoch++
			c.Primary = ds
			c.Version = max(c.Version, version)
			c.setReplicaVersion(seen.Primary, version)
			c.setReplicaVersion(ds, version)
		}
		c.LeaseExpiry = t.now + int64(dur)
		t.mustSet(chunkKey(ino, index), encode(c))
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.install(ctx, out)
}

// setReplicaVersion records that ds holds the chunk at version (at least),
// adding it to the replicas if it is not there; a zero version or an
// empty ds changes nothing.
func (c *ChunkRecord) setReplicaVersion(ds string, version uint64) {
	if ds == "" || version == 0 {
		return
	}
	for i := range c.Replicas {
		if c.Replicas[i].Dataserver == ds {
			c.Replicas[i].Version = max(c.Replicas[i].Version, version)
			return
		}
	}
	c.Replicas = append(c.Replicas, Replica{Dataserver: ds, Version: version})
}

// install gives c's lease to its primary's dataserver.
func (s *Service) install(ctx context.Context, c *ChunkRecord) error {
	addr, err := s.dataserverAddr(ctx, c.Primary)
	if err != nil {
		return err
	}
	l := dataserver.Lease{Chunk: uint64(c.ID), Holder: c.Primary, Epoch: c.LeaseEpoch, Expiry: c.LeaseExpiry}
	if err := s.dataservers.GrantLease(ctx, addr, l); err != nil {
		return fmt.Errorf("install the lease of chunk %s (epoch %d) on %s: %w", c.ID, c.LeaseEpoch, c.Primary, err)
	}
	return nil
}

// dataserverAddr returns where the registered dataserver id listens: from
// the registry snapshot placement uses, else from its record (it may have
// registered since the snapshot).
func (s *Service) dataserverAddr(ctx context.Context, id string) (string, error) {
	if list, err := s.dataserversNow(ctx); err == nil {
		for _, d := range list {
			if d.ID == id {
				return d.Addr, nil
			}
		}
	}
	var addr string
	err := s.view(ctx, func(t *tx) error {
		d, err := t.dataserver(id)
		if err != nil {
			return err
		}
		if d == nil {
			return errnof(syscall.ENXIO, "dataserver %s is not registered (does it run with --meta?)", id)
		}
		addr = d.Addr
		return nil
	})
	return addr, err
}

// isErrno reports whether err carries errno e.
func isErrno(err error, e syscall.Errno) bool { return errors.Is(err, e) }
