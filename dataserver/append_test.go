package dataserver

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
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

// TestWriteBehindAppendsDoesNotWaitForSync: an overwrite that follows
// direct appends not yet journaled is acknowledged while the chunk file's
// fdatasync, which the appends' journal records wait for, is stalled; it
// is journaled after them, reads see it at once, Sync makes both durable,
// and both survive a restart in order.
func TestWriteBehindAppendsDoesNotWaitForSync(t *testing.T) {
	dir := shortDir(t)
	mod := func(c *Config) { c.CheckpointInterval = time.Hour }
	ts := startServer(t, dir, "wb", mod)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	const chunk = 9
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts.e.store.SetBeforeSync(func(id uint64) {
		if id == chunk {
			once.Do(func() { close(entered); <-release })
		}
	})

	var model chunkModel
	appended := randBytes(r, 1<<20)
	resp, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, Offset: 0, Data: appended})
	require.NoError(t, err)
	model.write(0, appended)
	<-entered // the flusher is syncing the chunk file for the append

	patch := randBytes(r, 4<<10)
	done := make(chan error, 1)
	go func() {
		var err error
		resp, err = ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: resp.Version, Offset: 8192, Data: patch})
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("an unsynced overwrite waited for the chunk file's fdatasync")
	}
	model.write(8192, patch)
	require.Equal(t, uint64(2), resp.Version)
	got, data := readAll(t, ts.client, chunk)
	require.Equal(t, uint64(2), got.Version)
	require.True(t, bytes.Equal(model, data), "reads see the overwrite before it is journaled")

	close(release)
	v, err := ts.client.Sync(ctx, chunk)
	require.NoError(t, err)
	require.Equal(t, uint64(2), v)
	ts.stop(t)

	ts = startServer(t, dir, "wb", mod)
	got, data = readAll(t, ts.client, chunk)
	require.Equal(t, uint64(2), got.Version)
	require.True(t, bytes.Equal(model, data))
}
