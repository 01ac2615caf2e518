package dataserver

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/stretchr/testify/require"
)

// lazyPair starts a primary a replicating chunk to b in ReplLazy mode, with
// the given batch window.
func lazyPair(t *testing.T, window time.Duration, chunk uint64) (a, b *testServer) {
	a = startServer(t, shortDir(t), "a", func(c *Config) { c.LazyWindow = window })
	b = startServer(t, shortDir(t), "b", nil)
	req := SetReplicasReq{Chunk: chunk, Replicas: []Peer{{ID: "b", Addr: b.Addr()}}, Mode: ReplLazy}
	require.NoError(t, a.client.SetReplicas(context.Background(), req))
	return a, b
}

// lazyBytes is what chunk's next batch to its only replica will carry.
func lazyBytes(t *testing.T, c *Client, chunk uint64) int64 {
	info, err := c.ChunkInfo(context.Background(), chunk)
	require.NoError(t, err)
	require.Len(t, info.Replicas, 1)
	require.Equal(t, ReplLazy, info.Mode)
	return info.Replicas[0].LazyBytes
}

// TestLazyBatchCoalescesOverwrites: under async_lazy nothing crosses to the
// replica before its batch is due, and 1,000 overwrites of one 4 KiB range
// cross as one block, in a patch (not a full copy).
func TestLazyBatchCoalescesOverwrites(t *testing.T) {
	ctx := context.Background()
	const chunk = 0x1a
	a, b := lazyPair(t, time.Hour, chunk)
	r := rand.New(rand.NewPCG(5, 5))
	w := &modelWriter{t: t, c: a.client, chunk: chunk}
	w.write(0, randBytes(r, 1<<20))
	require.Eventually(t, func() bool { return lazyBytes(t, a.client, chunk) >= 1<<20 }, time.Minute, 5*time.Millisecond)
	require.Zero(t, peerStat(t, a.client).RawBytes, "nothing crossed before the batch was due")
	_, err := b.client.ChunkInfo(ctx, chunk)
	require.Error(t, err, "the replica has no copy yet")

	require.NoError(t, a.client.ShipNow(ctx, chunk))
	waitReplicated(t, a.client, chunk)
	first := peerStat(t, a.client)

	for range 1000 {
		w.write(3*chunkstore.BlockSize+512, randBytes(r, 4<<10))
	}
	require.Eventually(t, func() bool { return lazyBytes(t, a.client, chunk) >= 1000*4<<10 }, time.Minute, 5*time.Millisecond)
	require.Equal(t, first.RawBytes, peerStat(t, a.client).RawBytes, "overwrites wait for the batch")
	require.NoError(t, a.client.ShipNow(ctx, chunk))
	waitReplicated(t, a.client, chunk)
	second := peerStat(t, a.client)
	require.LessOrEqual(t, second.RawBytes-first.RawBytes, int64(chunkstore.BlockSize+4<<10),
		"1,000 overwrites of one range crossed as about one block")
	require.Equal(t, first.Resyncs, second.Resyncs, "the batch went as a patch, not a full copy")

	w.requireOn(b.client, "the replica holds the primary's version")
}

// TestLazyWindowCloses: a lazy batch goes on its own once its window
// closes, and a replica restarted after applying patches still holds the
// version they brought (the patch is replayed from its journal whole).
func TestLazyWindowCloses(t *testing.T) {
	ctx := context.Background()
	const chunk = 0x1b
	a := startServer(t, shortDir(t), "a", func(c *Config) { c.LazyWindow = 100 * time.Millisecond })
	bDir := shortDir(t)
	b := startServer(t, bDir, "b", func(c *Config) { c.CheckpointInterval = time.Hour })
	bAddr := b.Addr()
	req := SetReplicasReq{Chunk: chunk, Replicas: []Peer{{ID: "b", Addr: bAddr}}, Mode: ReplLazy}
	require.NoError(t, a.client.SetReplicas(ctx, req))
	r := rand.New(rand.NewPCG(6, 6))
	w := &modelWriter{t: t, c: a.client, chunk: chunk}
	for i := range 5 {
		w.write(int64(i)*150<<10, randBytes(r, 200<<10))
		waitReplicated(t, a.client, chunk)
	}
	w.truncate(300<<10 + 7)
	waitReplicated(t, a.client, chunk)
	require.Zero(t, peerStat(t, a.client).Resyncs, "every batch was a patch")

	b.stop(t)
	b = startServer(t, bDir, "b", func(c *Config) { c.Listen = bAddr })
	w.requireOn(b.client, "the replica came back at the last patch's version")
}

// TestLazyToPriority: a chunk whose policy turns from async_lazy to
// async_priority sends what its replica lacks at once.
func TestLazyToPriority(t *testing.T) {
	ctx := context.Background()
	const chunk = 0x1c
	a, b := lazyPair(t, time.Hour, chunk)
	resp, err := a.client.Write(ctx, WriteReq{Chunk: chunk, Offset: 10, Data: []byte("lazy at first")})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return lazyBytes(t, a.client, chunk) > 0 }, time.Minute, 5*time.Millisecond)
	req := SetReplicasReq{Chunk: chunk, Replicas: []Peer{{ID: "b", Addr: b.Addr()}}}
	require.NoError(t, a.client.SetReplicas(ctx, req))
	waitReplicated(t, a.client, chunk)
	rb, data := readAll(t, b.client, chunk)
	require.Equal(t, resp.Version, rb.Version)
	require.Equal(t, "lazy at first", string(data[10:]))
}
