package dataserver

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// crashOp is one mutation a writer sent: acknowledged, or in flight when
// the server died.
type crashOp struct {
	version  uint64
	truncate bool
	off      int64
	data     []byte
}

// crashChunk models one chunk across crashes: its content at baseVersion
// (as verified after the last restart) and every mutation sent since.
type crashChunk struct {
	id          uint64
	base        chunkModel
	baseVersion uint64
	ops         []crashOp
	acked       uint64 // last version the server acknowledged
	synced      uint64 // last version a Sync covered
	end         int64  // roughly the chunk's size, to aim appends at
}

// at is the model content at version v.
func (c *crashChunk) at(v uint64) chunkModel {
	m := c.base.clone()
	for _, op := range c.ops {
		if op.version > v {
			break
		}
		if op.truncate {
			m.truncate(op.off)
		} else {
			m.write(op.off, op.data)
		}
	}
	return m
}

// load writes (and sometimes truncates and syncs) until the server stops
// answering.
func (c *crashChunk) load(cl *Client, r *rand.Rand) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		op := crashOp{version: c.acked + 1}
		var err error
		if r.IntN(20) == 0 {
			op.truncate, op.off = true, r.Int64N(2<<20)
			c.ops = append(c.ops, op)
			_, err = cl.Truncate(ctx, TruncateReq{Chunk: c.id, ExpectedVersion: c.acked, Size: op.off})
		} else {
			op.off, op.data = r.Int64N(2<<20), randBytes(r, 1+r.IntN(128<<10))
			if r.IntN(3) == 0 { // an append (written once, see append.go)
				op.off, op.data = c.end+r.Int64N(2)*r.Int64N(100<<10), randBytes(r, directAppendMin+r.IntN(256<<10))
			}
			c.ops = append(c.ops, op)
			_, err = cl.Write(ctx, WriteReq{Chunk: c.id, ExpectedVersion: c.acked, Offset: op.off, Data: op.data})
		}
		if op.truncate {
			c.end = op.off
		} else {
			c.end = max(c.end, op.off+int64(len(op.data)))
		}
		if err == nil {
			c.acked = op.version
			if r.IntN(3) == 0 {
				var v uint64
				v, err = cl.Sync(ctx, c.id)
				if err == nil {
					c.synced = max(c.synced, v)
				}
			}
		}
		cancel()
		if err != nil {
			return
		}
	}
}

// child is a dataserver process of the crash test.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan struct{}
	client *Client
}

// startChild starts a dataserver process in dir; env adds variables
// (see childLeasesEnv and the others).
func startChild(t *testing.T, dir string, env ...string) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	ch.cmd.Env = append(append(os.Environ(), childDirEnv+"="+dir), env...)
	ch.cmd.Stderr = &ch.stderr
	require.NoError(t, ch.cmd.Start())
	exited := make(chan struct{})
	go func() { ch.cmd.Wait(); close(exited) }()
	ch.exited = exited
	// A failing test must not leave the child running (kill is idempotent).
	t.Cleanup(ch.kill)
	// Wait for the socket to accept before dialing, so the client does not
	// start in gRPC's reconnect backoff.
	sock := filepath.Join(dir, "ds.sock")
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("child dataserver exited: %s", ch.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			ch.kill()
			t.Fatalf("child dataserver did not come up: %v\n%s", err, ch.stderr.String())
		}
	}
	var err error
	ch.client, err = Dial("unix:" + sock)
	require.NoError(t, err)
	return ch
}

func (ch *child) kill() {
	ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.exited
	if ch.client != nil {
		ch.client.Close()
		ch.client = nil
	}
}

// TestCrashRecovery kills a dataserver process with SIGKILL at random
// points of a concurrent write/truncate/sync load, ten times. After each
// restart every chunk must be exactly the model's content at the version
// the server reports (so no block is torn and nothing half-applied
// shows), and that version must be at least the last one a Sync returned
// (so everything synced survived).
func TestCrashRecovery(t *testing.T) {
	dir := shortDir(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const writers = 4
	chunks := make([]*crashChunk, writers)
	for i := range chunks {
		chunks[i] = &crashChunk{id: uint64(0x100 + i)}
	}
	var appends uint64
	for round := range 10 {
		ch := startChild(t, dir)
		verifyAfterCrash(t, ch.client, chunks, round)
		var wg sync.WaitGroup
		for i, c := range chunks {
			wg.Add(1)
			seed := r.Uint64()
			go func() {
				defer wg.Done()
				c.load(ch.client, rand.New(rand.NewPCG(seed, uint64(i))))
			}()
		}
		time.Sleep(time.Duration(20+r.IntN(400)) * time.Millisecond)
		if st, err := ch.client.Stat(context.Background()); err == nil {
			appends += st.DirectAppends
		}
		ch.kill()
		wg.Wait()
		n := 0
		for _, c := range chunks {
			n += len(c.ops)
		}
		t.Logf("round %d: killed after %d mutations", round, n)
		require.Positive(t, n, "the load ran")
	}
	ch := startChild(t, dir)
	defer ch.kill()
	verifyAfterCrash(t, ch.client, chunks, 10)
	t.Logf("direct appends: %d", appends)
	require.Positive(t, appends, "the load made direct appends")
}

// verifyAfterCrash checks every chunk against its model and rebases the
// model on what the server holds.
func verifyAfterCrash(t *testing.T, cl *Client, chunks []*crashChunk, round int) {
	t.Helper()
	ctx := context.Background()
	for _, c := range chunks {
		var version uint64
		var data []byte
		info, err := cl.ChunkInfo(ctx, c.id)
		if errors.Is(err, syscall.ENOENT) {
			require.Zero(t, c.synced, "round %d chunk %x: synced data lost", round, c.id)
		} else {
			require.NoError(t, err)
			resp, err := cl.Read(ctx, c.id, 0, info.Size)
			require.NoError(t, err)
			version, data = resp.Version, resp.Data
		}
		last := c.baseVersion + uint64(len(c.ops))
		require.GreaterOrEqual(t, version, c.synced, "round %d chunk %x: a synced version was lost", round, c.id)
		require.LessOrEqual(t, version, last, "round %d chunk %x: version from nowhere", round, c.id)
		want := c.at(version)
		if !bytes.Equal(want, data) {
			t.Fatalf("round %d chunk %x at version %d (synced %d, acked %d): content differs from the model (len %d vs %d) at byte %d",
				round, c.id, version, c.synced, c.acked, len(data), len(want), firstDiff(want, data))
		}
		c.base, c.baseVersion, c.ops = chunkModel(data), version, nil
		c.acked, c.synced, c.end = version, version, int64(len(data))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
