package dataserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// countFDs counts the open file descriptors of process pid ("self" for
// this one).
func countFDs(t *testing.T, pid string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	require.NoError(t, err)
	return len(ents)
}

// manyChunks is the expected state of chunks 1..n written by
// writeManyChunks.
type manyChunks struct {
	models   []chunkModel
	versions []uint64
}

func newManyChunks(n int) *manyChunks {
	return &manyChunks{models: make([]chunkModel, n), versions: make([]uint64, n)}
}

// write writes a random piece to every chunk, syncing every 50th write,
// and calls check every 50 writes.
func (mc *manyChunks) write(t *testing.T, c *Client, r *rand.Rand, check func(string)) {
	t.Helper()
	ctx := context.Background()
	for i := range mc.models {
		off, p := r.Int64N(256<<10), randBytes(r, 1+r.IntN(16<<10))
		resp, err := c.Write(ctx, WriteReq{Chunk: uint64(1 + i), ExpectedVersion: mc.versions[i],
			Offset: off, Data: p, Sync: i%50 == 0})
		require.NoError(t, err, "chunk %d", 1+i)
		mc.models[i].write(off, p)
		mc.versions[i] = resp.Version
		if i%50 == 0 {
			check(fmt.Sprintf("after writing chunk %d", 1+i))
		}
	}
}

// verify reads every chunk back whole.
func (mc *manyChunks) verify(t *testing.T, c *Client, check func(string)) {
	t.Helper()
	for i, m := range mc.models {
		resp, data := readAll(t, c, uint64(1+i))
		require.Equal(t, mc.versions[i], resp.Version, "chunk %d", 1+i)
		require.True(t, bytes.Equal(m, data), "chunk %d content", 1+i)
		if i%50 == 0 {
			check(fmt.Sprintf("after reading chunk %d", 1+i))
		}
	}
}

// manyChunkCount is how many chunks the open-file tests use: far more
// than the limit they set (16), fewer under the race detector.
func manyChunkCount() int {
	if raceEnabled {
		return 150
	}
	return 500
}

// TestOpenChunkFilesBounded writes, syncs, reads and restarts 500 chunks
// on a dataserver allowed 16 open chunk files, and checks the content and
// that the process's descriptors stay within the limit (plus a few for
// the journal, checkpoints and connections) throughout, recovery included.
func TestOpenChunkFilesBounded(t *testing.T) {
	const limit, slack = 16, 8
	chunks := manyChunkCount()
	dir := shortDir(t)
	mod := func(c *Config) { c.MaxOpenChunks = limit }
	r := rand.New(rand.NewPCG(11, 12))
	mc := newManyChunks(chunks)

	ts := startServer(t, dir, "ds1", mod)
	base := countFDs(t, "self")
	check := func(when string) {
		t.Helper()
		require.LessOrEqual(t, countFDs(t, "self"), base+limit+slack, when)
		st, err := ts.client.Stat(context.Background())
		require.NoError(t, err)
		require.LessOrEqual(t, st.OpenFiles, limit, when)
	}
	mc.write(t, ts.client, r, check)
	mc.verify(t, ts.client, check)
	fs := ts.e.store.FileStats()
	require.GreaterOrEqual(t, fs.Evictions, uint64(chunks), "chunk files were closed and reopened")
	t.Logf("before restart: %+v", fs)
	ts.stop(t)

	ts = startServer(t, dir, "ds1", mod)
	require.Zero(t, ts.e.store.FileStats().Open, "recovery leaves no chunk file open")
	mc.verify(t, ts.client, check)
}

// TestChunkFilesUnderRlimit runs a dataserver process under
// RLIMIT_NOFILE=64 (so the default MaxOpenChunks is 16) through 500
// chunks: written without being applied, SIGKILLed, recovered by replaying
// all 500 from the journal, read back. Any EMFILE fails a write or the
// restart.
func TestChunkFilesUnderRlimit(t *testing.T) {
	const nofile = 64
	chunks := manyChunkCount()
	dir := shortDir(t)
	r := rand.New(rand.NewPCG(13, 14))
	mc := newManyChunks(chunks)
	limitEnv := fmt.Sprintf("%s=%d", childNoFileEnv, nofile)
	run := func(lazy, write bool) {
		env := []string{limitEnv}
		if lazy {
			env = append(env, childLazyEnv+"=1")
		}
		ch := startChild(t, dir, env...)
		defer ch.kill()
		pid := fmt.Sprint(ch.cmd.Process.Pid)
		check := func(when string) {
			t.Helper()
			st, err := ch.client.Stat(context.Background())
			require.NoError(t, err, when)
			require.LessOrEqual(t, st.OpenFiles, nofile/4, when)
			require.Less(t, countFDs(t, pid), nofile, when)
		}
		if mc.versions[0] > 0 {
			mc.verify(t, ch.client, check)
		}
		if write {
			mc.write(t, ch.client, r, check)
			require.NoError(t, ch.client.SyncAll(context.Background()))
			mc.verify(t, ch.client, check)
		}
	}
	run(true, true)   // nothing applied: chunk files only reserved
	run(false, false) // replays 500 chunks
}
