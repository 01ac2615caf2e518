package dataserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// recover loads every chunk from the store and replays the journal from
// the last checkpoint, so each chunk comes back at the version of its last
// mutation that survived in the journal (which includes every mutation a
// Sync acknowledged). Then it checkpoints, so the replay is not redone.
func (e *engine) recover() error {
	ckpt, err := readCheckpoint(e.fs, e.cfg.Dir)
	if err != nil {
		return err
	}
	if err := e.loadChunks(); err != nil {
		return err
	}
	// Chunk files must only ever reflect durable records: make whatever
	// the journal kept across the crash durable before replaying it.
	if err := e.j.Sync(context.Background(), e.j.LastLSN()); err != nil {
		return fmt.Errorf("dataserver: recover: %w", err)
	}
	if first := e.j.FirstLSN(); first > ckpt+1 && e.j.LastLSN() >= first {
		return fmt.Errorf("dataserver: recover: journal starts at LSN %d but the checkpoint is at %d: records are missing", first, ckpt)
	}
	if err := e.findTails(ckpt); err != nil {
		return fmt.Errorf("dataserver: recover: %w", err)
	}
	replayed := 0
	err = e.j.ReadFrom(ckpt+1, func(r journal.Record) error {
		m, err := DecodeMutation(r.Data, e.cfg.ChunkSize)
		if err != nil {
			return fmt.Errorf("journal record %d: %w", r.LSN, err)
		}
		replayed++
		return e.replay(&m, r.LSN)
	})
	if err != nil {
		return fmt.Errorf("dataserver: recover: %w", err)
	}
	if err := e.trimTails(); err != nil {
		return fmt.Errorf("dataserver: recover: %w", err)
	}
	e.applied.Store(uint64(e.j.LastLSN()))
	e.ckptLSN = ckpt
	e.ckptDone.Store(uint64(ckpt))
	if err := e.dropEmpty(); err != nil {
		return err
	}
	if err := e.checkpoint(); err != nil {
		return fmt.Errorf("dataserver: recover: %w", err)
	}
	e.watchAll() // what lags after a restart is unknown until the first census
	e.log.Info("dataserver recovered", "chunks", len(e.chunks), "checkpoint", ckpt,
		"replayed", replayed, "last_lsn", e.j.LastLSN())
	return nil
}

// findTails finds how far each chunk file's tail holds data of journaled
// direct appends (see append.go), so that opening the file during replay
// does not cut it off before the append is adopted.
func (e *engine) findTails(ckpt journal.LSN) error {
	e.keepTails = map[uint64]int64{}
	err := e.j.ReadFrom(ckpt+1, func(r journal.Record) error {
		if m, ok := decodeHeader(r.Data); ok && m.Op == OpAppend {
			e.keepTails[m.Chunk] = max(e.keepTails[m.Chunk], m.end())
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, keep := range e.keepTails {
		if cs := e.chunks[id]; cs != nil && cs.file != nil {
			cs.file.KeepTail(keep)
		}
	}
	return nil
}

// trimTails cuts the chunk files findTails kept long back to their chunks'
// replayed sizes.
func (e *engine) trimTails() error {
	for id := range e.keepTails {
		if cs := e.lookup(id); cs != nil && cs.file != nil {
			if err := cs.file.Trim(); err != nil {
				return err
			}
		}
	}
	e.keepTails = nil
	return nil
}

// loadChunks loads every chunk of the store: its sidecar (version, size,
// epoch, replicas, checksums), not its data file, which the store opens on
// first use; so recovery holds at most Config.MaxOpenChunks files open
// however many chunks there are.
func (e *engine) loadChunks() error {
	ids, err := e.store.List()
	if err != nil {
		return err
	}
	for _, id := range ids {
		f, err := e.store.Open(id)
		if err != nil {
			return err
		}
		cs := &chunkState{id: id, file: f}
		syncStateFromFile(cs)
		e.chunks[id] = cs
		e.logical.Add(cs.size)
	}
	return nil
}

// replay applies one journal record directly to its chunk file.
func (e *engine) replay(m *Mutation, lsn journal.LSN) error {
	cs := e.getOrCreate(m.Chunk)
	if m.Op == OpDelete {
		if err := e.removeFiles(cs, m, lsn); err != nil {
			return err
		}
		e.logical.Add(-cs.size)
		e.forget(cs)
		return nil
	}
	f, err := e.openFile(cs)
	if err != nil {
		return err
	}
	f.BeginReplay()
	if err := applyToFile(f, m); err != nil {
		return err
	}
	old := cs.size
	syncStateFromFile(cs)
	e.logical.Add(cs.size - old)
	cs.dirty = true
	return nil
}

// syncStateFromFile sets cs's acknowledged state to its file's (nothing is
// pending during recovery).
func syncStateFromFile(cs *chunkState) {
	meta := cs.file.Meta()
	cs.version = meta.Version
	cs.size = meta.Size
	cs.epoch = meta.Epoch
	r := decodeReplicas([]byte(strings.Join(meta.Replicas, "\n")))
	cs.replicas, cs.replMode, cs.owner, cs.target = r.Replicas, r.Mode, r.Owner, r.Target
	cs.resyncing = meta.Flags&chunkstore.FlagResyncing != 0
	cs.data.fromChunk(cs.file)
}

// dropEmpty removes chunks that hold nothing: data files left without a
// sidecar by a crash in a removal, or created by a write the journal never
// kept.
func (e *engine) dropEmpty() error {
	for _, cs := range e.snapshotStates() {
		if cs.version != 0 || cs.size != 0 || cs.epoch != 0 || len(cs.replicas) != 0 || cs.resyncing {
			continue
		}
		if err := e.store.Remove(cs.id, cs.file); err != nil {
			return err
		}
		cs.file = nil
		e.forget(cs)
	}
	return nil
}
