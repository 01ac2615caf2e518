package dataserver

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// checkLease refuses a client mutation unless this dataserver holds a
// current write lease on cs. Caller holds cs.mu.
func (e *engine) checkLease(cs *chunkState) error {
	if e.cfg.NoLeases {
		return nil
	}
	l := cs.lease
	switch {
	case l.Holder == "":
		return errChunk(cs.id, syscall.EPERM, "no write lease on this dataserver (%s)", e.cfg.ID)
	case l.Holder != e.cfg.ID:
		return errChunk(cs.id, syscall.EPERM, "write lease is held by %s (epoch %d), not %s", l.Holder, l.Epoch, e.cfg.ID)
	case !e.cfg.Now().Before(time.Unix(0, l.Expiry)):
		return errChunk(cs.id, syscall.EPERM, "write lease (epoch %d) expired at %s", l.Epoch, time.Unix(0, l.Expiry).UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// grantLease installs a lease the metaservice issued. A lower epoch than
// one seen before is refused with ESTALE. A new highest epoch is journaled
// but not synced: a grant precedes every new chunk, and an fdatasync per
// new file would dominate creating small files. The record becomes durable
// with the next sync of the journal (a client's, the applier's within
// ApplyDelay, or a replication ack's), and that is enough:
//
//   - Journal durability is a prefix. The epoch record is appended before
//     the lease is installed (both under cs.mu), so before any write under
//     the lease; any durable write under the lease, or any later durable
//     record at all, implies the epoch record is durable. Everything that
//     lets a write count as durable (a Sync, a Write with Sync set, a
//     replica, since senders ship durable records only, a checkpoint,
//     since only durable records are applied) therefore keeps the epoch
//     across a crash: a chunk written under epoch E never comes back with
//     a lower one while that write survives.
//   - If a crash takes the epoch record, it takes every record after it,
//     so every write under the lease is lost as well, and none of them was
//     reported durable: the chunk comes back at a version from before the
//     grant, with its older epoch.
//   - Leases are not persisted: after a restart no lease is held and every
//     client write is refused (EPERM) until a grant arrives. So a lost
//     epoch can only let in a grant with an epoch between the surviving
//     one and the lost one. The metaservice issued it before the lost one
//     and it names a holder and an expiry. It is the lost grant itself
//     (installing it again is the state before the crash), or an older
//     one: the metaservice bumps a chunk's epoch only when the lease
//     changes holder, and only once the previous holder's lease has
//     expired (AcquireLease), so an older grant to this dataserver expired
//     before the lost epoch was issued and admits no write (checkLease;
//     a grant naming another holder admits none here in any case). This
//     leans on lease expiry, as the lease scheme does everywhere: the
//     durable epoch never fenced a holder whose lease had not expired,
//     since grants go only to the holder. A lease taken away before its
//     expiry is taken with RevokeLease, which stays synchronous.
func (e *engine) grantLease(ctx context.Context, l *Lease) error {
	if l.Holder == "" || l.Epoch == 0 {
		return errChunk(l.Chunk, syscall.EINVAL, "lease needs a holder and an epoch > 0")
	}
	cs := e.getOrCreate(l.Chunk)
	cs.mu.Lock()
	switch {
	case cs.deleted:
		cs.mu.Unlock()
		return errChunk(l.Chunk, syscall.ENOENT, "deleted")
	case l.Epoch < cs.epoch:
		cs.mu.Unlock()
		return errChunk(l.Chunk, syscall.ESTALE, "lease epoch %d is older than epoch %d", l.Epoch, cs.epoch)
	case l.Epoch == cs.epoch && cs.lease.Holder != "" && cs.lease.Holder != l.Holder:
		cs.mu.Unlock()
		return errChunk(l.Chunk, syscall.ESTALE, "epoch %d is already held by %s", l.Epoch, cs.lease.Holder)
	}
	err := e.raiseEpoch(cs, l.Epoch)
	if err == nil {
		cs.lease = *l
	}
	cs.mu.Unlock()
	return err
}

// revokeLease ends the leases of a chunk up to epoch. Unlike a grant, a
// revoke promises that no lease of epoch <= req.Epoch is honored from now
// on, crash or not (the metaservice may then move the lease before it
// expires), so the record that holds the chunk's epoch, this revoke's or a
// grant's not yet synced, is made durable before it returns, with every
// mutation acknowledged before it.
func (e *engine) revokeLease(ctx context.Context, req *RevokeLeaseReq) error {
	cs := e.getOrCreate(req.Chunk)
	cs.mu.Lock()
	if req.Epoch < cs.epoch {
		cs.mu.Unlock()
		return errChunk(req.Chunk, syscall.ESTALE, "revoke of epoch %d, chunk is at epoch %d", req.Epoch, cs.epoch)
	}
	if cs.lease.Epoch <= req.Epoch {
		cs.lease = Lease{}
	}
	var err error
	if !cs.deleted {
		err = e.raiseEpoch(cs, req.Epoch)
	}
	// Everything acknowledged under the revoked leases is journaled and
	// made durable too: the next holder takes over from this state, so
	// none of it may be journaled (and shipped) after the revoke, nor be
	// lost to a crash.
	if err == nil {
		err = e.flushAppendsLocked(cs)
	}
	lsn := cs.lastLSN // the chunk's newest record, at or after its epoch's
	cs.mu.Unlock()
	if err != nil {
		return err
	}
	return e.j.Sync(ctx, lsn)
}

// raiseEpoch journals a new highest epoch (no-op otherwise), not synced.
// Caller holds cs.mu.
func (e *engine) raiseEpoch(cs *chunkState, epoch uint64) error {
	if epoch <= cs.epoch {
		return nil
	}
	_, err := e.accept(cs, &Mutation{Op: OpLease, Chunk: cs.id, Version: cs.version, Arg: epoch, CRC: chunkstore.CRC(nil)})
	return err
}

// journalReplicas journals a chunk's replica list (not synced) and returns
// the previous one and the record's LSN.
// Caller holds the chunk's list lock (Server.listLocks).
func (e *engine) journalReplicas(req *SetReplicasReq) (old []Peer, lsn journal.LSN, err error) {
	for _, p := range req.Replicas {
		if p.ID == "" || p.Addr == "" || strings.ContainsAny(p.ID, "=\n") || strings.ContainsRune(p.Addr, '\n') {
			return nil, 0, errChunk(req.Chunk, syscall.EINVAL, "bad replica %q at %q", p.ID, p.Addr)
		}
		if p.ID == e.cfg.ID {
			return nil, 0, errChunk(req.Chunk, syscall.EINVAL, "a dataserver cannot be its own replica")
		}
	}
	cs := e.getOrCreate(req.Chunk)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.deleted {
		return nil, 0, errChunk(req.Chunk, syscall.ENOENT, "deleted")
	}
	old = cs.replicas
	data := encodeReplicas(req)
	lsn, err = e.accept(cs, &Mutation{Op: OpReplicas, Chunk: cs.id, Version: cs.version, Data: data, CRC: chunkstore.CRC(data)})
	return old, lsn, err
}
