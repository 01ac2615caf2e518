package dataserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testLogger keeps test output quiet unless LIS_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("LIS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// shortDir returns a short temporary directory (unix socket paths are
// limited to about 100 bytes), removed at the end of the test.
func shortDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "lisds")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// testServer is a dataserver serving in-process.
type testServer struct {
	*Server
	cfg    Config
	client *Client // over the unix socket
	cancel context.CancelFunc
	done   chan error
}

// startServer starts a dataserver in dir with a unix socket and a loopback
// TCP listener. mod may adjust the config.
func startServer(t testing.TB, dir, id string, mod func(*Config)) *testServer {
	t.Helper()
	cfg := Config{
		Dir: dir, ID: id, Unix: filepath.Join(dir, "ds.sock"), Listen: "127.0.0.1:0",
		NoLeases: true, Logger: testLogger(), CheckpointInterval: 200 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	ts := &testServer{Server: srv, cfg: cfg, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- srv.Serve(ctx) }()
	ts.client, err = Dial("unix:" + cfg.Unix)
	require.NoError(t, err)
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop closes the server (idempotent).
func (ts *testServer) stop(t testing.TB) {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	require.NoError(t, <-ts.done)
	ts.client.Close()
}

// chunkModel is the expected content of one chunk.
type chunkModel []byte

func (m *chunkModel) write(off int64, p []byte) {
	if end := off + int64(len(p)); end > int64(len(*m)) {
		*m = append(*m, make([]byte, end-int64(len(*m)))...)
	}
	copy((*m)[off:], p)
}

func (m *chunkModel) truncate(n int64) {
	if n <= int64(len(*m)) {
		*m = (*m)[:n]
		return
	}
	*m = append(*m, make([]byte, n-int64(len(*m)))...)
}

func (m chunkModel) clone() chunkModel { return bytes.Clone(m) }

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readAll reads a whole chunk through c.
func readAll(t testing.TB, c *Client, chunk uint64) (*ReadResp, []byte) {
	t.Helper()
	ctx := context.Background()
	info, err := c.ChunkInfo(ctx, chunk)
	require.NoError(t, err)
	var out []byte
	var last *ReadResp
	for off := int64(0); off < info.Size || off == 0; off += 8 << 20 {
		r, err := c.Read(ctx, chunk, off, min(8<<20, info.Size-off))
		require.NoError(t, err)
		out = append(out, r.Data...)
		last = r
		if info.Size == 0 {
			break
		}
	}
	return last, out
}

// modelWriter writes to one chunk through a client with its expected
// version, and keeps the content the chunk should have.
type modelWriter struct {
	t       testing.TB
	c       *Client
	chunk   uint64
	version uint64
	model   chunkModel
}

func (w *modelWriter) write(off int64, p []byte) {
	w.t.Helper()
	resp, err := w.c.Write(context.Background(), WriteReq{Chunk: w.chunk, ExpectedVersion: w.version, Offset: off, Data: p})
	require.NoError(w.t, err)
	w.version = resp.Version
	w.model.write(off, p)
}

func (w *modelWriter) truncate(n int64) {
	w.t.Helper()
	resp, err := w.c.Truncate(context.Background(), TruncateReq{Chunk: w.chunk, ExpectedVersion: w.version, Size: n})
	require.NoError(w.t, err)
	w.version = resp.Version
	w.model.truncate(n)
}

// requireOn requires the chunk on c to be at w's version with its content.
func (w *modelWriter) requireOn(c *Client, msg string) {
	w.t.Helper()
	rb, data := readAll(w.t, c, w.chunk)
	require.Equal(w.t, w.version, rb.Version, msg)
	require.True(w.t, bytes.Equal(w.model, data), msg)
}
