package dataserver

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/metaservice/registry"
)

// TestQuarantineKeepsTheCopy: a quarantined chunk is no longer served,
// its files (with writes not yet checkpointed) are kept, the heartbeat
// lists them, and a restart does not bring the chunk back.
func TestQuarantineKeepsTheCopy(t *testing.T) {
	dir := shortDir(t)
	ts := startServer(t, dir, "q", nil)
	r := rand.New(rand.NewPCG(11, 12))
	w := &modelWriter{t: t, c: ts.client, chunk: 0x2a}
	syncedWrites(t, w, r, 3)
	w.write(5, []byte("the last write, never checkpointed"))

	require.NoError(t, ts.client.Quarantine(context.Background(), 0x2a))
	_, err := ts.client.ChunkInfo(context.Background(), 0x2a)
	require.ErrorIs(t, err, syscall.ENOENT, "a quarantined copy is not served")
	var hb registry.Heartbeat
	require.Eventually(t, func() bool { // once the applier reached the record
		hb = ts.heartbeat("test")
		return hb.QuarantinedCount == 1
	}, 10*time.Second, 5*time.Millisecond)
	q := hb.Quarantined[0]
	require.Equal(t, uint64(0x2a), q.Chunk)
	require.Equal(t, w.version, q.Version)
	kept, err := os.ReadFile(q.Path)
	require.NoError(t, err)
	require.Equal(t, []byte(w.model), kept)

	ts.stop(t)
	ts = startServer(t, dir, "q", nil)
	_, err = ts.client.ChunkInfo(context.Background(), 0x2a)
	require.ErrorIs(t, err, syscall.ENOENT, "the quarantine outlives a restart")
	require.Equal(t, 1, ts.heartbeat("test").QuarantinedCount)
	stem := strings.TrimSuffix(q.Path, ".dat")
	require.NoError(t, os.Remove(stem+".dat"))
	require.Equal(t, 1, ts.heartbeat("test").QuarantinedCount, "its sidecar is still there")
	require.NoError(t, os.Remove(stem+".meta"))
	require.Equal(t, 0, ts.heartbeat("test").QuarantinedCount, "an operator's deletion leaves the report")
}

// TestQuarantineReplayedAfterCrash: a dataserver killed after a
// quarantine, before any checkpoint, replays the writes and the
// quarantine at its restart: one quarantined copy, with the data the
// chunk had, and no chunk left.
func TestQuarantineReplayedAfterCrash(t *testing.T) {
	dir := shortDir(t)
	ch := startChild(t, dir, childNoCheckpointEnv+"=1") // the restart replays it all
	r := rand.New(rand.NewPCG(13, 14))
	w := &modelWriter{t: t, c: ch.client, chunk: 0x2b}
	syncedWrites(t, w, r, 3)
	require.NoError(t, ch.client.Quarantine(context.Background(), 0x2b))
	qdir := filepath.Join(dir, "chunks", chunkstore.QuarantineDir)
	require.Eventually(t, func() bool { // once the applier moved it
		ents, _ := os.ReadDir(qdir)
		return len(ents) == 2
	}, 10*time.Second, 5*time.Millisecond)
	ch.kill()

	ts := startServer(t, dir, "child", nil)
	_, err := ts.client.ChunkInfo(context.Background(), 0x2b)
	require.ErrorIs(t, err, syscall.ENOENT, "the replayed writes do not bring the chunk back")
	hb := ts.heartbeat("test")
	require.Equal(t, 1, hb.QuarantinedCount, "the replayed quarantine finishes the first, not another")
	kept, err := os.ReadFile(hb.Quarantined[0].Path)
	require.NoError(t, err)
	require.Equal(t, []byte(w.model), kept)
	require.Equal(t, w.version, hb.Quarantined[0].Version)
}
