package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
)

// dataserverProc is a `lis dataserver` process started by a test.
type dataserverProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	dir  string
	unix string
	tcp  string
}

// startDataserver runs `lis dataserver` with args and waits until it
// logs that it is serving; the process is killed at cleanup if the test
// did not stop it.
func startDataserver(t testing.TB, dir, id string, args ...string) *dataserverProc {
	t.Helper()
	p := &dataserverProc{dir: dir, unix: filepath.Join(dir, "ds.sock")}
	args = append([]string{"dataserver", "--dir", dir, "--id", id, "--unix", p.unix, "--listen", "127.0.0.1:0"}, args...)
	p.cmd, p.log = startDaemon(t, args...)
	serving := regexp.MustCompile(`msg="dataserver serving".* tcp=(\S+)`)
	require.Eventually(t, func() bool {
		m := serving.FindStringSubmatch(p.log.String())
		if m != nil {
			p.tcp = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "lis %s never served:\n%s", strings.Join(args, " "), p.log)
	return p
}

// startDaemon starts `lis ARGS...` with its output in a buffer; the
// process is killed at cleanup if the test did not stop it.
func startDaemon(t testing.TB, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	cmd := exec.Command(lisBin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, log
}

// stop sends SIGTERM and requires a clean exit.
func (p *dataserverProc) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), "lis dataserver exited badly:\n%s", p.log)
	require.Contains(t, p.log.String(), "dataserver stopped")
}

// TestDataserverCommand runs two `lis dataserver` processes, in two sites,
// as a user runs them: a write through the first's unix socket reaches the
// second over TCP, each reports its site and region, and after SIGTERM and
// a restart the first still holds every byte at the same version.
func TestDataserverCommand(t *testing.T) {
	needE2E(t)
	ctx := context.Background()
	dirA, dirB := shortTempDir(t), shortTempDir(t)
	a := startDataserver(t, dirA, "perth-1", "--site", "perth", "--region", "au", "--no-leases")
	b := startDataserver(t, dirB, "london-1", "--site", "london", "--region", "eu", "--no-leases")

	ca, err := dataserver.Dial("unix:" + a.unix)
	require.NoError(t, err)
	defer ca.Close()
	cb, err := dataserver.Dial(b.tcp)
	require.NoError(t, err)
	defer cb.Close()

	const chunk = 0x51
	require.NoError(t, ca.SetReplicas(ctx, dataserver.SetReplicasReq{Chunk: chunk, Replicas: []dataserver.Peer{{ID: "london-1", Addr: b.tcp}}}))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	var version uint64
	for off := 0; off < len(data); off += 1 << 20 {
		resp, err := ca.Write(ctx, dataserver.WriteReq{Chunk: chunk, ExpectedVersion: version, Offset: int64(off), Data: data[off : off+1<<20]})
		require.NoError(t, err)
		version = resp.Version
	}
	_, err = ca.Write(ctx, dataserver.WriteReq{Chunk: chunk, ExpectedVersion: version, Offset: 12345, Data: []byte("overwrite")})
	require.NoError(t, err)
	version++
	copy(data[12345:], "overwrite")
	_, err = ca.Sync(ctx, chunk)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		info, err := ca.ChunkInfo(ctx, chunk)
		require.NoError(t, err)
		return len(info.Replicas) == 1 && info.Replicas[0].AckedVersion == version
	}, time.Minute, 20*time.Millisecond, "london-1 never acknowledged version %d", version)
	requireChunk(t, cb, chunk, version, data)

	for _, c := range []struct {
		cl           *dataserver.Client
		site, region string
	}{{ca, "perth", "au"}, {cb, "london", "eu"}} {
		st, err := c.cl.Stat(ctx)
		require.NoError(t, err)
		require.Equal(t, c.site, st.Site)
		require.Equal(t, c.region, st.Region)
	}

	ca.Close()
	a.stop(t)
	a = startDataserver(t, dirA, "perth-1", "--site", "perth", "--region", "au", "--no-leases")
	ca, err = dataserver.Dial("unix:" + a.unix)
	require.NoError(t, err)
	requireChunk(t, ca, chunk, version, data)
	a.stop(t)
	b.stop(t)
}

// TestDataserverCommandRefusesBadSetups: a dataserver that could not serve
// safely says why and exits non-zero.
func TestDataserverCommandRefusesBadSetups(t *testing.T) {
	needE2E(t)
	dir := shortTempDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dataserver", "--dir", dir}, "nothing to serve on"},
		{[]string{"dataserver", "--dir", dir, "--listen", "192.0.2.1:7301"}, "is not a loopback address"},
		{[]string{"dataserver", "--listen", "127.0.0.1:0"}, `required flag(s) "dir" not set`},
		{[]string{"dataserver", "--dir", dir, "--listen", "127.0.0.1:0", "--replication-limit", "fast"}, `--replication-limit: must be a rate such as 100mbps`},
		{[]string{"dataserver", "--dir", dir, "--listen", "127.0.0.1:0", "--priority-hours", "25:00-3"}, `--priority-hours: must be "HH:MM-HH:MM"`},
		{[]string{"dataserver", "--dir", dir, "--listen", "127.0.0.1:0", "--id", "bad id"}, `dataserver ID "bad id"`},
	} {
		out, err := runLis(tc.args...)
		require.Error(t, err, "lis %v", tc.args)
		require.Contains(t, out, tc.want, "lis %v", tc.args)
	}
}

// requireChunk reads chunk whole through c and compares it with want.
func requireChunk(t *testing.T, c *dataserver.Client, chunk, version uint64, want []byte) {
	t.Helper()
	resp, err := c.Read(context.Background(), chunk, 0, int64(len(want))+4096)
	require.NoError(t, err)
	require.Equal(t, version, resp.Version)
	require.Equal(t, int64(len(want)), resp.Size)
	require.True(t, bytes.Equal(want, resp.Data[:len(want)]), "chunk %x content differs", chunk)
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket in it.
func shortTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "lisds")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
