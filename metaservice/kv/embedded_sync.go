package kv

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// syncer bounds the durability lag of unsynced commits: every SyncInterval
// it syncs the WAL if anything was committed since the last sync. It is
// owned by the Embedded and stopped by Close.
func (e *Embedded) syncer() {
	defer close(e.done)
	tick := time.NewTicker(e.opts.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
			if !e.dirty.Load() {
				continue
			}
			if err := e.syncWAL(); err != nil {
				slog.Error("embedded kv: periodic WAL sync failed", "err", err)
			}
		}
	}
}

// syncWAL makes every commit applied so far durable. It writes an empty
// WAL record with Sync: the WAL is sequential, so syncing it covers every
// earlier batch, and pebble group-commits concurrent sync requests.
func (e *Embedded) syncWAL() error {
	e.dirty.Store(false) // a commit racing with this sets it again
	if err := e.db.LogData(nil, pebble.Sync); err != nil {
		e.dirty.Store(true)
		return fmt.Errorf("embedded sync: %w", err)
	}
	return nil
}

// countingFS counts the fsyncs pebble issues (WAL, sstables, manifest), for
// Stats.Syncs.
type countingFS struct {
	vfs.FS
	syncs atomic.Uint64
}

func (fs *countingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, syncs: &fs.syncs}, nil
}

func (fs *countingFS) Create(name string) (vfs.File, error) { return fs.wrap(fs.FS.Create(name)) }

func (fs *countingFS) OpenReadWrite(name string, o ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, o...))
}

func (fs *countingFS) OpenDir(name string) (vfs.File, error) { return fs.wrap(fs.FS.OpenDir(name)) }

func (fs *countingFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname))
}

type countingFile struct {
	vfs.File
	syncs *atomic.Uint64
}

func (f *countingFile) Sync() error {
	defer f.syncs.Add(1)
	return f.File.Sync()
}

func (f *countingFile) SyncData() error {
	defer f.syncs.Add(1)
	return f.File.SyncData()
}

// SyncTo counts only when it synced the whole file; otherwise it merely
// queued writeback (sync_file_range).
func (f *countingFile) SyncTo(length int64) (bool, error) {
	full, err := f.File.SyncTo(length)
	if full {
		f.syncs.Add(1)
	}
	return full, err
}

// quietLogger sends pebble's chatter (WAL and compaction events) to slog at
// debug level; fatal errors still stop the process, as pebble requires.
type quietLogger struct{}

func (quietLogger) Infof(format string, args ...any) { slog.Debug(fmt.Sprintf(format, args...)) }

func (quietLogger) Fatalf(format string, args ...any) { pebble.DefaultLogger.Fatalf(format, args...) }
