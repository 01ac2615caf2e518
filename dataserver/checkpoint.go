package dataserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
	"github.com/lis-fs/lis/journal/diskfs"
)

// checkpointFile holds the LSN through which every journal record is
// reflected in the chunk files and their sidecars; replay starts after it.
const checkpointFile = "checkpoint"

// checkpointLoop checkpoints every CheckpointInterval, and sooner when the
// journal holds more than a segment past the last checkpoint or when half
// the open chunk files hold unsynced writes (so that closing the least
// recently used file to open another rarely has to fdatasync it first).
func (e *engine) checkpointLoop(ctx context.Context) {
	tick := time.NewTicker(e.cfg.CheckpointInterval / 8)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := time.Since(last) >= e.cfg.CheckpointInterval ||
			e.j.LastLSN() > 0 && e.j.Size() > 2*e.cfg.JournalSegmentSize ||
			e.store.FileStats().Unsynced > e.cfg.MaxOpenChunks/2
		if !due {
			continue
		}
		err := e.checkpoint()
		if err != nil {
			e.log.Error("checkpoint failed", "err", err)
			e.ckptErr.Store(&err)
		} else if e.ckptErr.Swap(nil) != nil {
			e.log.Info("checkpoints work again")
		}
		if err == nil && e.afterCheckpoint != nil {
			e.afterCheckpoint()
		}
		last = time.Now()
	}
}

// checkpoint persists every chunk changed since the last checkpoint and
// then releases the journal through the applied LSN read before the
// snapshots were taken. Snapshots may include mutations past that LSN;
// replaying those again after a crash is harmless (see applyToFile).
func (e *engine) checkpoint() error {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	upTo := journal.LSN(e.applied.Load())
	if upTo <= e.ckptLSN {
		return nil
	}
	var snaps []chunkstore.Snapshot
	var taken []*chunkState
	var err error
	for _, cs := range e.snapshotStates() {
		cs.mu.Lock()
		if cs.dirty && cs.file != nil && err == nil {
			var snap chunkstore.Snapshot
			if snap, err = cs.file.Snapshot(); err == nil {
				snaps = append(snaps, snap)
				taken = append(taken, cs)
				cs.dirty = false
			}
		}
		cs.mu.Unlock()
	}
	if err == nil {
		err = e.store.Checkpoint(snaps)
	}
	if err == nil {
		err = writeCheckpoint(e.fs, e.cfg.Dir, upTo)
	}
	if err == nil {
		err = e.j.Release(upTo)
	}
	if err != nil {
		for _, cs := range taken {
			cs.mu.Lock()
			cs.dirty = true
			cs.mu.Unlock()
		}
		return fmt.Errorf("checkpoint through LSN %d: %w", upTo, err)
	}
	e.ckptLSN = upTo
	e.ckptDone.Store(uint64(upTo))
	e.mu.Lock()
	for id, lsn := range e.deletedAt {
		if lsn <= upTo {
			delete(e.deletedAt, id)
		}
	}
	e.mu.Unlock()
	e.m.checkpoints.Inc()
	return nil
}

// The checkpoint file is 8 bytes of LSN and a CRC32C of them; it is
// replaced atomically.
func writeCheckpoint(fsys diskfs.FS, dir string, lsn journal.LSN) error {
	b := binary.LittleEndian.AppendUint64(nil, uint64(lsn))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	if err := diskfs.WriteFileAtomic(fsys, filepath.Join(dir, checkpointFile), b); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func readCheckpoint(fsys diskfs.FS, dir string) (journal.LSN, error) {
	b, err := diskfs.ReadFile(fsys, filepath.Join(dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	if len(b) != 12 || binary.LittleEndian.Uint32(b[8:]) != crc32.Checksum(b[:8], crc32.MakeTable(crc32.Castagnoli)) {
		return 0, fmt.Errorf("read checkpoint: %s is corrupt", filepath.Join(dir, checkpointFile))
	}
	return journal.LSN(binary.LittleEndian.Uint64(b)), nil
}
