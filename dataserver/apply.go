package dataserver

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// applyLoop is the applier: it waits for queued mutations to become
// durable (a client's sync, or one it forces after ApplyDelay) and applies
// them to the chunk files in LSN order. A failure (disk full, I/O error)
// stops it at that mutation, which stays acknowledged and readable from
// the pending list; new writes are refused with that error until a retry
// gets past it.
func (e *engine) applyLoop(ctx context.Context) {
	backoff := 10 * time.Millisecond
	for e.q.waitItems(ctx) {
		if err := e.makeDurable(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if e.j.Err() != nil {
				e.journalFailed(ctx, err)
				return
			}
			e.log.Error("journal sync failed", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if err := e.applyDurable(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if e.applyErr.Swap(&err) == nil {
				e.log.Error("applying journal to chunk files failed; refusing writes until it succeeds", "err", err)
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		if e.applyErr.Swap(nil) != nil {
			e.log.Info("applying journal to chunk files works again")
		}
		backoff = 10 * time.Millisecond
	}
}

// journalFailed applies what was durable before the journal failed, then
// waits for the end: the records after it can never become durable in
// this journal (see faults.go).
func (e *engine) journalFailed(ctx context.Context, err error) {
	e.log.Error("journal failed: no more writes until the dataserver restarts", "err", err)
	if aerr := e.applyDurable(ctx); aerr != nil {
		e.log.Error("apply what was durable before the journal failed", "err", aerr)
	}
	<-ctx.Done()
}

// makeDurable gives clients ApplyDelay to sync the oldest queued mutation
// themselves (group commit), then syncs the journal through everything
// queued. Under back-pressure it syncs at once.
func (e *engine) makeDurable(ctx context.Context) error {
	if head := e.q.first(); head != 0 && head <= e.j.DurableLSN() {
		return nil // something is already applicable
	}
	if !e.q.overHalf() {
		sleep(ctx, e.cfg.ApplyDelay)
	}
	return e.j.Sync(ctx, e.q.last())
}

// applyDurable applies every queued mutation that is durable.
func (e *engine) applyDurable(ctx context.Context) error {
	items := e.q.upTo(e.j.DurableLSN())
	for _, it := range items {
		if err := e.applyQueued(it); err != nil {
			return err
		}
		e.q.pop(it)
		// The mutation has left the pending list (readers) and the
		// queue: nothing refers to its frame any more.
		freeFrame(it.m.frame)
		it.m.frame, it.m.Data = nil, nil
		e.applied.Store(uint64(it.lsn))
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// applyQueued applies one queued mutation to its chunk file and drops it
// from the chunk's pending list.
func (e *engine) applyQueued(it queued) error {
	cs := it.cs
	if it.m.Op == OpDelete {
		return e.applyDelete(it)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.pending) == 0 || cs.pending[0].lsn != it.lsn {
		panic(fmt.Sprintf("dataserver: chunk %x: pending list out of order at LSN %d", cs.id, it.lsn))
	}
	f, err := e.openFile(cs)
	if err != nil {
		return err
	}
	if err := applyToFile(f, it.m); err != nil {
		return err
	}
	if it.m.Op.cuts() {
		cs.pendingCuts--
	}
	cs.pending[0] = pendingMut{}
	cs.pending = cs.pending[1:]
	if len(cs.pending) == 0 {
		cs.pending = nil
	}
	cs.dirty = true
	return nil
}

// applyDelete removes the chunk's files. It takes ckptMu so a checkpoint
// never snapshots a chunk whose files are going away.
func (e *engine) applyDelete(it queued) error {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	cs := it.cs
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if err := e.removeFiles(cs, it.m, it.lsn); err != nil {
		return err
	}
	cs.file = nil
	cs.pending = nil // the delete is the last mutation a chunk accepts
	e.forget(cs)
	return nil
}

// removeFiles removes cs's files, or quarantines them, as the delete m
// (journaled at lsn) says. The quarantine is named by lsn, so a replay of
// m finishes it rather than making another. The copy is persisted first
// so that its sidecar vouches for its data; a disk that will not allow
// that does not stop the quarantine (nor every write after it).
func (e *engine) removeFiles(cs *chunkState, m *Mutation, lsn journal.LSN) error {
	if m.Arg != argQuarantine {
		return e.store.Remove(cs.id, cs.file)
	}
	if cs.file != nil && !e.store.Quarantined(cs.id, uint64(lsn)) {
		if err := e.store.Persist(cs.file); err != nil {
			e.log.Warn("quarantining a copy as it is: its sidecar may not vouch for its last writes",
				"chunk", fmt.Sprintf("%x", cs.id), "err", err)
		}
	}
	if err := e.store.Quarantine(cs.id, cs.file, uint64(lsn)); err != nil {
		return err
	}
	e.log.Warn("chunk copy quarantined: it diverged from the chunk's other copies",
		"chunk", fmt.Sprintf("%x", cs.id), "version", cs.version, "dir", filepath.Join(e.cfg.Dir, "chunks", chunkstore.QuarantineDir))
	return nil
}

// applyToFile makes the chunk file reflect m (data, size and metadata).
// It is used both by the applier and by journal replay; applying a suffix
// of the mutations a file already reflects again, in order, is harmless.
func applyToFile(f *chunkstore.Chunk, m *Mutation) error {
	var err error
	switch m.Op {
	case OpWrite, OpResyncData:
		err = f.WriteAtCRCs(m.Data, m.Offset, m.pieces)
	case OpAppend:
		var data []byte // nil when replaying: read back from the file
		if len(m.Data) > 0 {
			data = m.Data
		}
		err = f.AdoptCRCs(data, m.Offset, int64(m.Arg), m.pieces)
	case OpTruncate, OpResyncEnd:
		err = f.Truncate(int64(m.Arg))
	case OpPatch:
		err = applyPatch(f, m)
	}
	if err != nil {
		return err
	}
	meta := f.Meta()
	switch m.Op {
	case OpLease:
		meta.Epoch = max(meta.Epoch, m.Arg)
	case OpReplicas:
		meta.Replicas = replicaLines(m.Data)
	case OpResyncBegin:
		meta.Flags |= chunkstore.FlagResyncing
	case OpResyncEnd:
		meta.Flags &^= chunkstore.FlagResyncing
	}
	if m.Op.bumpsVersion() {
		meta.Version = m.Version
	}
	f.SetMeta(meta)
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
