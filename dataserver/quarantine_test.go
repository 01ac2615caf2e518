package dataserver

import (
	"context"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	require.NoError(t, os.Remove(q.Path))
	require.Equal(t, 0, ts.heartbeat("test").QuarantinedCount, "an operator's deletion leaves the report")
}
