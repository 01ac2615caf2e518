package main

import (
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/registry"
)

// metaserviceProc is a `lis metaservice` process started by a test,
// serving on a unix socket.
type metaserviceProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	sock string
}

// startMetaservice runs `lis metaservice` on an embedded store in dir and
// waits until its socket answers; it is killed at cleanup if the test
// did not stop it.
func startMetaservice(t *testing.T, dir string, args ...string) *metaserviceProc {
	t.Helper()
	p := &metaserviceProc{log: &syncBuffer{}, sock: filepath.Join(dir, "meta.sock")}
	args = append([]string{"metaservice", "--meta-url", "embedded:" + filepath.Join(dir, "meta"), "--unix", p.sock}, args...)
	p.cmd = exec.Command(lisBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("unix", p.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "lis metaservice never served:\n%s", p.log)
	return p
}

func (p *metaserviceProc) addr() string { return "unix:" + p.sock }

func (p *metaserviceProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), "lis metaservice exited badly:\n%s", p.log)
}

// listDataservers runs `lis dataservers --json`.
func listDataservers(t *testing.T, meta string) map[string]ms.DataserverStatus {
	t.Helper()
	out, err := exec.Command(lisBin, "dataservers", "--meta", meta, "--json").Output()
	require.NoError(t, err, "lis dataservers: %s", out)
	var ds []ms.DataserverStatus
	require.NoError(t, json.Unmarshal(out, &ds), "%s", out)
	byID := map[string]ms.DataserverStatus{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	return byID
}

// TestE2ERegistry: `lis dataserver --meta` registers and heartbeats; the
// registry lists sites, regions, addresses and space, is kept across a
// metaservice restart, marks a silent dataserver suspect, and refuses a
// second dataserver that claims a live ID from another address.
func TestE2ERegistry(t *testing.T) {
	needE2E(t)
	metaDir := shortTempDir(t)
	meta := startMetaservice(t, metaDir, "--suspect-after", "3s", "--down-after", "1h")
	perth := startDataserver(t, shortTempDir(t), "perth-1", "--site", "perth", "--region", "au", "--meta", meta.addr())
	london := startDataserver(t, shortTempDir(t), "london-1", "--site", "london", "--region", "eu", "--meta", meta.addr())

	ds := listDataservers(t, meta.addr())
	require.Len(t, ds, 2)
	for _, c := range []struct {
		id, site, region string
		p                *dataserverProc
	}{{"perth-1", "perth", "au", perth}, {"london-1", "london", "eu", london}} {
		d := ds[c.id]
		require.Equal(t, c.site, d.Site)
		require.Equal(t, c.region, d.Region)
		require.Equal(t, c.p.tcp, d.Addr)
		require.Equal(t, registry.Up, d.Liveness)
		require.Positive(t, d.Capacity)
		require.Positive(t, d.Free)
		require.LessOrEqual(t, d.Free, d.Capacity)
	}
	out, err := exec.Command(lisBin, "dataservers", "--meta", meta.addr()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "perth-1")
	require.Contains(t, string(out), "up")

	// A second perth-1 elsewhere is refused at its start, saying why.
	dup := exec.Command(lisBin, "dataserver", "--dir", shortTempDir(t), "--id", "perth-1", "--listen", "127.0.0.1:0", "--meta", meta.addr())
	dupOut, err := dup.CombinedOutput()
	require.Error(t, err, "a second dataserver took the live ID perth-1:\n%s", dupOut)
	require.Contains(t, string(dupOut), "held by a live dataserver at "+perth.tcp)

	// The registry is in the store: it outlives the metaservice.
	london.stop(t)
	meta.stop(t)
	meta = startMetaservice(t, metaDir, "--suspect-after", "3s", "--down-after", "1h")
	ds = listDataservers(t, meta.addr())
	require.Contains(t, ds, "london-1", "registry lost in a metaservice restart")
	require.Eventually(t, func() bool {
		ds := listDataservers(t, meta.addr())
		return ds["london-1"].Liveness == registry.Suspect && ds["perth-1"].Liveness == registry.Up
	}, 30*time.Second, 200*time.Millisecond, "london-1 stopped and perth-1 heartbeats: %v", listDataservers(t, meta.addr()))
	perth.stop(t)
	require.False(t, strings.Contains(perth.log.String(), "level=ERROR"), "perth-1 logged errors:\n%s", perth.log)
}
