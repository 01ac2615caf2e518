package metaservice

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver"
)

// A lease moves between dataservers only once the new holder has every
// mutation the old one acknowledged, so that two hosts never see two
// contents of one file (today's primary is always a state that includes
// yesterday's):
//
//  1. Fence: the holder's leases up to the current epoch are revoked;
//     RevokeLease returns once everything the holder acknowledged is
//     durable, and it takes no write after. If the holder does not answer,
//     nothing can be known of what it acknowledged: while its lease is
//     live the move waits (EAGAIN); once the lease has expired, the chunk
//     goes on from the reachable copy with the highest version, and never
//     from one below the version the record has committed (then EAGAIN
//     too: the current copy is on a host that is away, and writing on an
//     older one would fork the file).
//  2. Catch up: the source (the fenced holder, or that best copy) gets the
//     new holder in its replica list and ships to it in journal order, a
//     block-diff resync first if it has nothing, until the new holder has
//     made the source's version durable.
//  3. Take: the record names the new holder under the next epoch (in a
//     transaction that fails if the record moved meanwhile), the lease is
//     installed on the new holder, and the old holder, if it answered,
//     becomes a replica of the new one.

// chunkCopy is one dataserver's copy of a chunk.
type chunkCopy struct {
	peer    dataserver.Peer
	version uint64
	peers   []dataserver.Peer // the copy's own replica list
	mode    dataserver.ReplMode
}

// handover fences c's holder and brings dataserver to up to date; it
// returns the copy to was brought to (the old holder's, when it answered).
func (s *Service) handover(ctx context.Context, c *ChunkRecord, to string) (chunkCopy, error) {
	toAddr, err := s.dataserverAddr(ctx, to)
	if err != nil {
		return chunkCopy{}, err
	}
	src, err := s.fence(ctx, c)
	if err != nil {
		return chunkCopy{}, err
	}
	dst := dataserver.Peer{ID: to, Addr: toAddr}
	if err := s.catchUp(ctx, uint64(c.ID), src, dst); err != nil {
		return chunkCopy{}, err
	}
	return src, nil
}

// fence revokes the holder's lease and returns its copy, or, when it does
// not answer and its lease has expired, the best reachable copy.
func (s *Service) fence(ctx context.Context, c *ChunkRecord) (chunkCopy, error) {
	cp, err := s.copyOf(ctx, c.Primary, uint64(c.ID), func(addr string) error {
		return s.dataservers.RevokeLease(ctx, addr, uint64(c.ID), c.LeaseEpoch)
	})
	if err == nil {
		return cp, nil
	}
	if c.LeaseExpiry > s.now() {
		return chunkCopy{}, errnof(syscall.EAGAIN, "chunk %s is leased to %s until %s, which does not answer: %v",
			c.ID, c.Primary, time.Unix(0, c.LeaseExpiry).UTC().Format(time.RFC3339), err)
	}
	s.log.Warn("lease holder unreachable; going on from the best reachable copy", "chunk", c.ID, "holder", c.Primary, "err", err)
	return s.bestCopy(ctx, c, err)
}

// copyOf asks dataserver id for its copy of chunk, after first (if not
// nil). A dataserver that does not have the chunk holds version 0.
func (s *Service) copyOf(ctx context.Context, id string, chunk uint64, first func(addr string) error) (chunkCopy, error) {
	addr, err := s.dataserverAddr(ctx, id)
	if err != nil {
		return chunkCopy{}, err
	}
	if first != nil {
		if err := first(addr); err != nil {
			return chunkCopy{}, err
		}
	}
	cp := chunkCopy{peer: dataserver.Peer{ID: id, Addr: addr}}
	info, err := s.dataservers.ChunkInfo(ctx, addr, chunk)
	switch {
	case isErrno(err, syscall.ENOENT):
		return cp, nil
	case err != nil:
		return chunkCopy{}, err
	case info.Resyncing:
		return chunkCopy{}, errnof(syscall.EAGAIN, "chunk %x on %s is being copied", chunk, id)
	}
	cp.version, cp.mode = info.Version, info.Mode
	for _, r := range info.Replicas {
		cp.peers = append(cp.peers, r.Peer)
	}
	return cp, nil
}

// bestCopy returns the reachable copy of c with the highest version, if it
// holds at least the version the record committed (no copy at all, when
// nothing was committed).
func (s *Service) bestCopy(ctx context.Context, c *ChunkRecord, holderErr error) (chunkCopy, error) {
	var best chunkCopy
	for _, r := range c.Replicas {
		if r.Dataserver == c.Primary {
			continue
		}
		cp, err := s.copyOf(ctx, r.Dataserver, uint64(c.ID), nil)
		if err == nil && (best.peer.ID == "" || cp.version > best.version) {
			best = cp
		}
	}
	if best.peer.ID == "" && c.Version == 0 {
		return chunkCopy{}, nil // nothing committed: the chunk starts empty
	}
	if best.peer.ID == "" || best.version < c.Version {
		return chunkCopy{}, errnof(syscall.EAGAIN, "chunk %s: its holder %s does not answer (%v), and no copy that does holds its committed version %d",
			c.ID, c.Primary, holderErr, c.Version)
	}
	return best, nil
}

// catchUp makes src ship chunk to dst until dst holds src's version
// durably, then puts src's replica list back as it was.
func (s *Service) catchUp(ctx context.Context, chunk uint64, src chunkCopy, dst dataserver.Peer) error {
	if src.peer.ID == dst.ID || src.version == 0 {
		return nil
	}
	have, err := s.copyOf(ctx, dst.ID, chunk, nil)
	switch {
	case err == nil && have.version == src.version:
		return nil
	case err == nil && have.version > src.version:
		return errnof(syscall.EIO, "chunk %x: %s holds version %d, ahead of %s's %d: a divergent copy, not taken over",
			chunk, dst.ID, have.version, src.peer.ID, src.version)
	}
	// dst takes the stream only as a replica: a dataserver that still
	// takes itself for the chunk's primary (a move whose settling did not
	// reach it) refuses replication of it.
	if err := s.dataservers.SetReplicas(ctx, dst.Addr, dataserver.SetReplicasReq{Chunk: chunk}); err != nil {
		return fmt.Errorf("make %s a replica of chunk %x: %w", dst.ID, chunk, err)
	}
	peers := src.peers
	if !slices.ContainsFunc(peers, func(p dataserver.Peer) bool { return p.ID == dst.ID }) {
		peers = append(slices.Clip(peers), dst)
	}
	// The catch-up ships at once, whatever the chunk's mode: a writer
	// waits for it.
	catchUp := dataserver.SetReplicasReq{Chunk: chunk, Replicas: peers}
	if err := s.dataservers.SetReplicas(ctx, src.peer.Addr, catchUp); err != nil {
		return fmt.Errorf("make %s ship chunk %x to %s: %w", src.peer.ID, chunk, dst.ID, err)
	}
	err = s.awaitReplica(ctx, chunk, src, dst.ID)
	restore := dataserver.SetReplicasReq{Chunk: chunk, Replicas: src.peers, Mode: src.mode}
	if rerr := s.dataservers.SetReplicas(ctx, src.peer.Addr, restore); rerr != nil && err == nil {
		err = fmt.Errorf("restore the replicas of chunk %x on %s: %w", chunk, src.peer.ID, rerr)
	}
	return err
}

// awaitReplica waits until src reports that dst acknowledged src's
// version, for at most Options.HandoverTimeout.
func (s *Service) awaitReplica(ctx context.Context, chunk uint64, src chunkCopy, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.HandoverTimeout)
	defer cancel()
	wait, acked := 5*time.Millisecond, uint64(0)
	for {
		info, err := s.dataservers.ChunkInfo(ctx, src.peer.Addr, chunk)
		if err == nil {
			for _, r := range info.Replicas {
				if r.Peer.ID == dst {
					acked = r.AckedVersion
				}
			}
			if acked >= src.version {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errnof(syscall.EAGAIN, "chunk %x: %s holds version %d of %s's %d after %s", chunk, dst, acked,
				src.peer.ID, src.version, s.opts.HandoverTimeout)
		case <-time.After(wait):
			wait = min(2*wait, 200*time.Millisecond)
		}
	}
}

// settle makes the old holder of a moved lease a replica of the new one:
// it stops shipping the chunk, and the new holder ships to every other
// copy in the record, the old holder among them. Failures are logged: the
// lease has moved either way, and a copy that missed this is caught up at
// the next move.
func (s *Service) settle(ctx context.Context, ino Ino, index uint32, c *ChunkRecord, oldHolder chunkCopy) {
	err := s.dataservers.SetReplicas(ctx, oldHolder.peer.Addr, dataserver.SetReplicasReq{Chunk: uint64(c.ID)})
	if err == nil {
		err = s.shipTo(ctx, ino, index, c)
	}
	if err != nil {
		s.log.Warn("make the old lease holder a replica", "chunk", c.ID, "old", oldHolder.peer.ID, "new", c.Primary, "err", err)
	}
}
