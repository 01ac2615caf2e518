package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Group commit. There is no dedicated sync goroutine on the write path:
// the first Sync caller that finds no sync in flight becomes the leader,
// captures everything appended so far, fdatasyncs it and publishes the new
// durable LSN; callers arriving meanwhile wait for that broadcast and, if
// their records were appended after the leader's capture, one of them leads
// the next round. N concurrent syncing writers therefore share about two
// fdatasyncs per round instead of paying one each.

// syncJob is what one leader makes durable. Segment files are synced before
// the directory (for new segment entries) and the active segment, so a
// durable record never depends on an unsynced earlier one.
type syncJob struct {
	target LSN         // durable through this once the job succeeds
	sealed []*segment  // sealed segments to fdatasync, then close
	active diskfs.File // the active segment
	dir    logDir      // directory to fsync; path "" if no segment was created
}

// Sync returns when every record up to upTo is durable. A call whose upTo
// is already durable returns at once without any I/O; concurrent callers
// share fdatasyncs (group commit). ctx bounds only the waiting: an
// fdatasync in progress is not interrupted. A failed fdatasync is sticky:
// the page cache may have dropped the data, so the Log returns that error
// from then on and must be reopened (recovery then trusts only the disk).
func (l *Log) Sync(ctx context.Context, upTo LSN) error {
	for {
		l.mu.Lock()
		if upTo <= l.durable {
			l.mu.Unlock()
			return nil
		}
		if err := l.syncableLocked(upTo); err != nil {
			l.mu.Unlock()
			return err
		}
		if err := ctx.Err(); err != nil {
			l.mu.Unlock()
			return err
		}
		if !l.syncing {
			job := l.beginSyncLocked()
			l.mu.Unlock()
			if l.syncHook != nil {
				l.syncHook()
			}
			l.finishSync(job, job.run())
			continue
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *Log) syncableLocked(upTo LSN) error {
	switch {
	case l.err != nil:
		return l.err
	case l.closed:
		return ErrClosed
	case upTo > l.last:
		return fmt.Errorf("journal: sync up to LSN %d beyond last LSN %d", upTo, l.last)
	}
	return nil
}

// syncAll makes everything appended so far durable.
func (l *Log) syncAll() error {
	return l.Sync(context.Background(), l.LastLSN())
}

func (l *Log) beginSyncLocked() *syncJob {
	job := &syncJob{target: l.last, sealed: l.unsynced, active: l.segs[len(l.segs)-1].f}
	if l.dirDirty {
		job.dir = l.disk
	}
	l.unsynced, l.dirDirty, l.syncing = nil, false, true
	return job
}

func (j *syncJob) run() error {
	for _, s := range j.sealed {
		if err := s.f.SyncData(); err != nil {
			return err // names the call and the file
		}
	}
	if j.dir.path != "" {
		if err := j.dir.sync(); err != nil {
			return err
		}
	}
	if err := j.active.SyncData(); err != nil {
		return err
	}
	return nil
}

// finishSync publishes a leader's result and wakes every waiter.
func (l *Log) finishSync(job *syncJob, err error) {
	var done []diskfs.File
	l.mu.Lock()
	l.syncing = false
	if err != nil {
		if l.err == nil {
			l.err = fmt.Errorf("journal: %w", err)
		}
		l.unsynced = append(job.sealed, l.unsynced...)
		l.dirDirty = l.dirDirty || job.dir.path != ""
	} else {
		l.durable = max(l.durable, job.target)
		l.rounds++
		for _, s := range job.sealed {
			done = append(done, s.f)
			s.f = nil
		}
	}
	gc := l.gcDueLocked()
	l.broadcastLocked()
	l.mu.Unlock()
	for _, f := range done {
		f.Close()
	}
	if gc {
		kick(l.gcKick)
	}
}

// kick wakes the background goroutine without blocking.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run is the Log's background goroutine, owned by the Log and stopped by
// Close. It syncs un-synced appends every SyncInterval and on request from
// a waiting cursor, deletes segments a sync has made deletable, and saves
// consumer positions periodically.
func (l *Log) run() {
	defer close(l.done)
	var syncTick <-chan time.Time
	if l.opts.SyncInterval > 0 {
		t := time.NewTicker(l.opts.SyncInterval)
		defer t.Stop()
		syncTick = t.C
	}
	stateEvery := l.opts.SyncInterval
	if stateEvery <= 0 {
		stateEvery = defaultSyncInterval
	}
	stateTick := time.NewTicker(stateEvery)
	defer stateTick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-syncTick:
			l.backgroundSync()
		case <-l.syncKick:
			l.backgroundSync()
		case <-l.wbKick:
			l.writeback()
		case <-l.gcKick:
			if err := l.collect(); err != nil {
				l.log.Error("journal: delete segments", "dir", l.dir, "err", err)
			}
		case <-stateTick.C:
			if err := l.saveStateIfDirty(); err != nil {
				l.log.Error("journal: save consumer positions", "dir", l.dir, "err", err)
			}
		}
	}
}

func (l *Log) backgroundSync() {
	l.mu.Lock()
	failed, last := l.err != nil, l.last
	l.mu.Unlock()
	if failed {
		return // already reported to every appender; nothing more to do
	}
	if err := l.Sync(context.Background(), last); err != nil && !errors.Is(err, ErrClosed) {
		l.log.Error("journal: background sync", "dir", l.dir, "err", err)
	}
}
