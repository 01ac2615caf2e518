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
// one seen before is refused with ESTALE; a new highest epoch is made
// durable before grantLease returns, so it is still refused after a crash.
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
	lsn, err := e.raiseEpoch(cs, l.Epoch)
	if err == nil {
		cs.lease = *l
	}
	cs.mu.Unlock()
	if err != nil {
		return err
	}
	return e.j.Sync(ctx, lsn)
}

// revokeLease ends the leases of a chunk up to epoch.
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
	var lsn journal.LSN
	var err error
	if !cs.deleted {
		lsn, err = e.raiseEpoch(cs, req.Epoch)
	}
	cs.mu.Unlock()
	if err != nil {
		return err
	}
	return e.j.Sync(ctx, lsn)
}

// raiseEpoch journals a new highest epoch (no-op otherwise) and returns the
// record's LSN to sync. Caller holds cs.mu.
func (e *engine) raiseEpoch(cs *chunkState, epoch uint64) (journal.LSN, error) {
	if epoch <= cs.epoch {
		return 0, nil
	}
	return e.accept(cs, &Mutation{Op: OpLease, Chunk: cs.id, Version: cs.version, Arg: epoch, CRC: chunkstore.CRC(nil)})
}

// setReplicas journals a chunk's replica list and returns the previous one.
func (e *engine) setReplicas(ctx context.Context, req *SetReplicasReq) (old []Peer, err error) {
	for _, p := range req.Replicas {
		if p.ID == "" || p.Addr == "" || strings.ContainsAny(p.ID, "=\n") || strings.ContainsRune(p.Addr, '\n') {
			return nil, errChunk(req.Chunk, syscall.EINVAL, "bad replica %q at %q", p.ID, p.Addr)
		}
		if p.ID == e.cfg.ID {
			return nil, errChunk(req.Chunk, syscall.EINVAL, "a dataserver cannot be its own replica")
		}
	}
	cs := e.getOrCreate(req.Chunk)
	cs.mu.Lock()
	if cs.deleted {
		cs.mu.Unlock()
		return nil, errChunk(req.Chunk, syscall.ENOENT, "deleted")
	}
	old = cs.replicas
	data := encodePeers(req.Replicas)
	lsn, err := e.accept(cs, &Mutation{Op: OpReplicas, Chunk: cs.id, Version: cs.version, Data: data, CRC: chunkstore.CRC(data)})
	cs.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return old, e.j.Sync(ctx, lsn)
}
