package dataserver

import (
	"context"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteStreamConcurrent drives many concurrent writers, synced and
// not, through one Client's Writes stream: every answer reaches its own
// caller (versions count up per chunk with no gaps) and the data reads back.
func TestWriteStreamConcurrent(t *testing.T) {
	ts := startServer(t, shortDir(t), "ws", nil)
	ctx := context.Background()
	const writers, perWriter = 12, 40
	models := make([]chunkModel, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			chunk := uint64(100 + w)
			for i := range perWriter {
				p := randBytes(r, 1+r.IntN(300<<10))
				off := r.Int64N(4 << 20)
				resp, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: uint64(i), Offset: off, Data: p, Sync: i%3 == 0})
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, uint64(i+1), resp.Version)
				assert.Equal(t, i%3 == 0, resp.Durable)
				models[w].write(off, p)
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		_, got := readAll(t, ts.client, uint64(100+w))
		require.Equal(t, []byte(models[w]), got, "chunk %d", 100+w)
	}
}

// TestWriteStreamErrors: a refused write answers its caller with the errno
// and leaves the stream usable for the next one.
func TestWriteStreamErrors(t *testing.T) {
	ts := startServer(t, shortDir(t), "ws", nil)
	ctx := context.Background()
	_, err := ts.client.Write(ctx, WriteReq{Chunk: 1, ExpectedVersion: 5, Data: []byte("x")})
	require.ErrorIs(t, err, syscall.ESTALE)
	require.ErrorContains(t, err, "expected version 5")
	_, err = ts.client.Write(ctx, WriteReq{Chunk: 1, Offset: ts.e.cfg.ChunkSize, Data: []byte("x")})
	require.ErrorIs(t, err, syscall.EFBIG)
	resp, err := ts.client.Write(ctx, WriteReq{Chunk: 1, Data: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.Version)
}

// TestWriteStreamServerRestart: when the dataserver goes away the calls
// fail with ENOTCONN instead of hanging, and once it is back on the same
// socket the same Client writes again on a new stream.
func TestWriteStreamServerRestart(t *testing.T) {
	dir := shortDir(t)
	ts := startServer(t, dir, "ws", nil)
	ctx := context.Background()
	client, err := Dial("unix:" + ts.cfg.Unix)
	require.NoError(t, err)
	defer client.Close()
	_, err = client.Write(ctx, WriteReq{Chunk: 1, Data: []byte("before"), Sync: true})
	require.NoError(t, err)

	ts.stop(t)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = client.Write(wctx, WriteReq{Chunk: 1, ExpectedVersion: 1, Data: []byte("during")})
	require.ErrorIs(t, err, syscall.ENOTCONN)

	startServer(t, dir, "ws", nil)
	require.Eventually(t, func() bool {
		_, err := client.Write(ctx, WriteReq{Chunk: 1, ExpectedVersion: 1, Offset: 6, Data: []byte("after")})
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	_, got := readAll(t, client, 1)
	require.Equal(t, "beforeafter", string(got))
}
