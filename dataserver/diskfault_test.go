package dataserver

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Disk faults injected through diskfs: what the dataserver tells writers,
// what it reports in its heartbeats, and what survives a restart.

// faultyServer starts a dataserver whose journal, chunk store and
// checkpoint go through a diskfs.Faulty driven by the returned Rules.
func faultyServer(t *testing.T, dir string) (*testServer, *diskfs.Rules) {
	rules := &diskfs.Rules{}
	return startServer(t, dir, "f", func(c *Config) {
		c.FS = diskfs.Wrap(diskfs.OS, rules)
		c.CheckpointInterval = 50 * time.Millisecond
	}), rules
}

// stopFailing stops ts, whose disk failed it: closing reports the
// failure.
func stopFailing(t *testing.T, ts *testServer) {
	ts.cancel()
	ts.cancel = nil
	require.ErrorIs(t, <-ts.done, syscall.EIO)
	ts.client.Close()
}

// requireAfterRestart starts the dataserver in dir again, on a disk that
// works, and requires w's chunk to hold what w acknowledged.
func requireAfterRestart(t *testing.T, dir string, w *modelWriter) {
	ts, _ := faultyServer(t, dir)
	w.c = ts.client
	w.requireOn(ts.client, "after the restart")
}

// fault is what the server would report in its next heartbeat.
func (ts *testServer) fault() string { return ts.heartbeat("test").Fault }

// syncedWrites writes n pieces of 64 KiB to the chunk of w, the odd ones
// overwrites (journaled), and syncs.
func syncedWrites(t *testing.T, w *modelWriter, r *rand.Rand, n int) {
	for i := range n {
		off := int64(len(w.model))
		if i%2 == 1 {
			off = r.Int64N(off)
		}
		w.write(off, randBytes(r, 64<<10))
	}
	_, err := w.c.Sync(context.Background(), w.chunk)
	require.NoError(t, err)
}

// TestJournalSyncFailureIsSticky: a failed journal fdatasync fails the
// sync that hit it with a clear error, and every write after it; the
// dataserver reports the fault; after a restart the chunk holds what the
// last successful sync acknowledged, or the later state, never a mix.
func TestJournalSyncFailureIsSticky(t *testing.T) {
	dir := shortDir(t)
	ts, rules := faultyServer(t, dir)
	r := rand.New(rand.NewPCG(1, 2))
	w := &modelWriter{t: t, c: ts.client, chunk: 1}
	syncedWrites(t, w, r, 6)
	synced, syncedVersion := w.model.clone(), w.version

	rules.Add(diskfs.Rule{Op: diskfs.OpSync, Contains: "/journal/", Err: syscall.EIO})
	w.write(100, []byte("never synced"))
	_, err := ts.client.Sync(context.Background(), 1)
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorContains(t, err, "fdatasync")
	_, err = ts.client.Write(context.Background(), WriteReq{Chunk: 1, ExpectedVersion: w.version, Offset: 0, Data: []byte("x")})
	require.ErrorIs(t, err, syscall.EIO, "the failure is sticky")
	require.Contains(t, ts.fault(), "journal failed (restart to recover)")
	w.requireOn(ts.client, "the acknowledged writes are still served")

	stopFailing(t, ts)
	rules.Clear()
	ts, _ = faultyServer(t, dir)
	rb, data := readAll(t, ts.client, 1)
	switch rb.Version {
	case syncedVersion:
		require.True(t, bytes.Equal(synced, data), "the synced state, whole")
	case w.version:
		require.True(t, bytes.Equal(w.model, data), "the later state, whole")
	default:
		t.Fatalf("version %d after the restart: neither the synced %d nor the last %d", rb.Version, syncedVersion, w.version)
	}
	require.Empty(t, ts.fault(), "a restart recovers the journal")
}

// TestChunkFileSyncFailureUnderAppends: when the chunk file cannot be
// fdatasynced, direct appends are journaled with their data, so the sync
// succeeds and the data survives a restart; the failing checkpoints are
// reported meanwhile.
func TestChunkFileSyncFailureUnderAppends(t *testing.T) {
	dir := shortDir(t)
	ts, rules := faultyServer(t, dir)
	rules.Add(diskfs.Rule{Op: diskfs.OpSync, Contains: ".dat", Err: syscall.EIO})
	r := rand.New(rand.NewPCG(3, 4))
	w := &modelWriter{t: t, c: ts.client, chunk: 7}
	for range 8 {
		w.write(int64(len(w.model)), randBytes(r, 256<<10)) // direct appends
	}
	_, err := ts.client.Sync(context.Background(), 7)
	require.NoError(t, err, "the journal makes the appends durable where the file cannot")
	require.Greater(t, rules.Hits(), 0, "the chunk file's fdatasync was tried and failed")
	require.Eventually(t, func() bool { return ts.fault() != "" }, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, ts.fault(), "checkpoints fail")
	w.requireOn(ts.client, "before the restart")

	stopFailing(t, ts)
	rules.Clear()
	requireAfterRestart(t, dir, w)
}

// TestCheckpointEIO: while the checkpoint file cannot be synced, writers
// go on, the fault is reported, and the journal keeps everything; once
// the disk works again the fault clears, and a restart finds every write.
func TestCheckpointEIO(t *testing.T) {
	dir := shortDir(t)
	ts, rules := faultyServer(t, dir)
	rules.Add(diskfs.Rule{Op: diskfs.OpSync, Contains: "checkpoint.tmp", Err: syscall.EIO})
	r := rand.New(rand.NewPCG(5, 6))
	w := &modelWriter{t: t, c: ts.client, chunk: 3}
	syncedWrites(t, w, r, 4)
	require.Eventually(t, func() bool { return ts.fault() != "" }, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, ts.fault(), "checkpoints fail")
	require.Contains(t, ts.fault(), "checkpoint.tmp")
	syncedWrites(t, w, r, 4) // writers are not held up

	rules.Clear()
	require.Eventually(t, func() bool { return ts.fault() == "" }, 10*time.Second, 20*time.Millisecond)
	ts.stop(t)
	requireAfterRestart(t, dir, w)
}

// TestJournalWriteTornByENOSPC: a journal append that reaches the disk
// only in part fails with ENOSPC and is taken back whole; the next write
// works, and a restart finds exactly the acknowledged writes.
func TestJournalWriteTornByENOSPC(t *testing.T) {
	dir := shortDir(t)
	ts, rules := faultyServer(t, dir)
	r := rand.New(rand.NewPCG(7, 8))
	w := &modelWriter{t: t, c: ts.client, chunk: 5}
	syncedWrites(t, w, r, 4)

	before := activeSegmentSize(t, dir)
	rules.Add(diskfs.Rule{Op: diskfs.OpWrite, Contains: "/journal/", Times: 1, Err: &diskfs.TornError{Err: syscall.ENOSPC}})
	_, err := ts.client.Write(context.Background(), WriteReq{Chunk: 5, ExpectedVersion: w.version, Offset: 10, Data: randBytes(r, 8<<10)})
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.Equal(t, 1, rules.Hits())
	require.Equal(t, before, activeSegmentSize(t, dir), "the torn half is cut off the journal at once")
	syncedWrites(t, w, r, 4)

	ts.stop(t)
	requireAfterRestart(t, dir, w)
}

// TestChunkReadEIO: a read the disk fails is an EIO to the reader, never
// made-up data, and is not taken for a damaged block; the next read, once
// the disk answers, is right.
func TestChunkReadEIO(t *testing.T) {
	ts, rules := faultyServer(t, shortDir(t))
	r := rand.New(rand.NewPCG(9, 10))
	w := &modelWriter{t: t, c: ts.client, chunk: 9}
	syncedWrites(t, w, r, 4)
	last := uint64(ts.e.j.LastLSN())
	require.Eventually(t, func() bool { return ts.e.ckptDone.Load() >= last }, 10*time.Second, 10*time.Millisecond,
		"the writes never reached the chunk file")

	rules.Add(diskfs.Rule{Op: diskfs.OpRead, Contains: ".dat", Times: 1, Err: syscall.EIO})
	_, err := ts.client.Read(context.Background(), 9, 0, 64<<10)
	require.ErrorIs(t, err, syscall.EIO)
	require.Equal(t, 1, rules.Hits())
	damaged, _ := ts.e.damagedReport()
	require.Empty(t, damaged, "an I/O error is not a bad checksum")
	w.requireOn(ts.client, "once the disk answers")
}

// activeSegmentSize is the size of the newest journal segment file in a
// dataserver's dir.
func activeSegmentSize(t *testing.T, dir string) int64 {
	segs, err := filepath.Glob(filepath.Join(dir, "journal", "*.seg"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	slices.Sort(segs)
	fi, err := os.Stat(segs[len(segs)-1])
	require.NoError(t, err)
	return fi.Size()
}
