package dataserver

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDirectAppends: writes past a chunk's end are appended directly and
// read back at once; an overwrite after them is journaled behind them; a
// chunk that was truncated takes journaled writes until a checkpoint has
// covered the truncation; and everything survives a restart.
func TestDirectAppends(t *testing.T) {
	dir := shortDir(t)
	ts := startServer(t, dir, "app", func(c *Config) { c.CheckpointInterval = time.Hour })
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	var model chunkModel
	version := uint64(0)
	write := func(off int64, n int) {
		t.Helper()
		p := randBytes(r, n)
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: 7, ExpectedVersion: version, Offset: off, Data: p})
		require.NoError(t, err)
		version = resp.Version
		model.write(off, p)
	}
	appends := func() uint64 {
		st, err := ts.client.Stat(ctx)
		require.NoError(t, err)
		return st.DirectAppends
	}
	check := func(what string) {
		t.Helper()
		_, got := readAll(t, ts.client, 7)
		require.Equal(t, []byte(model), got, what)
	}

	for i := range 5 {
		write(int64(i)<<20, 1<<20)
	}
	write(5<<20+100, directAppendMin) // past a hole
	require.Equal(t, uint64(6), appends())
	check("appends")

	write(1000, 200<<10) // an overwrite: journaled after the appends
	write(int64(len(model)), directAppendMin-1)
	require.Equal(t, uint64(6), appends(), "overwrites and small writes are journaled")
	check("overwrite")

	resp, err := ts.client.Truncate(ctx, TruncateReq{Chunk: 7, ExpectedVersion: version, Size: 3 << 20})
	require.NoError(t, err)
	version = resp.Version
	model.truncate(3 << 20)
	write(3<<20, 1<<20)
	require.Equal(t, uint64(6), appends(), "no direct append before a checkpoint covers the truncation")
	_, err = ts.client.Sync(ctx, 7)
	require.NoError(t, err)
	last := uint64(ts.e.j.LastLSN())
	require.Eventually(t, func() bool { // once the applier got there
		require.NoError(t, ts.e.checkpoint())
		return ts.e.ckptDone.Load() >= last
	}, 10*time.Second, 10*time.Millisecond)
	write(4<<20, 1<<20)
	require.Equal(t, uint64(7), appends())
	check("after truncation")

	_, err = ts.client.Sync(ctx, 7)
	require.NoError(t, err)
	ts.stop(t)
	ts = startServer(t, dir, "app", nil)
	check("after restart")
}
