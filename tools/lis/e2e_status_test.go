package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statusCluster is a metaservice and three dataservers in three sites on
// 127.0.0.1, all on mutual TLS, each daemon serving metrics, and a mount
// at perth; lis status runs as "laptop", a client certificate.
type statusCluster struct {
	meta    *metaserviceProc
	metaTCP string
	nodes   map[string]string // node name → lis ca issue directory
	metrics map[string]string // daemon → metrics address
	ds      map[string]*dataserverProc
	mnt     string
}

func startStatusCluster(t *testing.T) *statusCluster {
	c := &statusCluster{metrics: map[string]string{}, ds: map[string]*dataserverProc{}, metaTCP: freePort(t)}
	c.nodes = issueNodes(t, map[string]string{"meta": "metaservice", "perth-1": "", "london-1": "", "tokyo-1": "", "laptop": "client"})
	c.metrics["meta"] = freePort(t)
	c.meta = startMetaservice(t, shortTempDir(t), "--suspect-after", "3s", "--down-after", "8s",
		"--metrics", c.metrics["meta"], "--listen", c.metaTCP, "--tls-dir", c.nodes["meta"])
	for _, n := range []string{"perth", "london", "tokyo"} {
		c.metrics[n] = freePort(t)
		c.ds[n] = startDataserver(t, shortTempDir(t), n+"-1", "--site", n, "--region", "r-"+n,
			"--meta", c.metaTCP, "--lazy-window", "6s", "--metrics", c.metrics[n], "--tls-dir", c.nodes[n+"-1"])
	}
	require.Eventually(t, func() bool { return len(listDataservers(t, c.meta.addr())) == 3 }, 30*time.Second, 50*time.Millisecond,
		"dataservers never registered over TLS:\n%s", c.meta.log)
	c.metrics["mount"] = freePort(t)
	c.mnt = filepath.Join(publicTempDir(t), "perth")
	require.NoError(t, os.Mkdir(c.mnt, 0o755))
	mountLis(t, "--meta", c.metaTCP, "--dataserver", "unix:"+c.ds["perth"].unix, "--tls-dir", c.nodes["perth-1"],
		"--metrics", c.metrics["mount"], c.mnt)
	return c
}

// issueNodes makes a cluster CA and a node directory per name (with the
// role given, or the default ones), through lis ca.
func issueNodes(t *testing.T, roles map[string]string) map[string]string {
	ca := filepath.Join(shortTempDir(t), "ca")
	out, err := runLis("ca", "init", ca)
	require.NoError(t, err, out)
	nodes := map[string]string{}
	for name, role := range roles {
		args := []string{"ca", "issue", "--name", name}
		if role != "" {
			args = append(args, "--role", role)
		}
		out, err := runLis(append(args, ca)...)
		require.NoError(t, err, out)
		nodes[name] = filepath.Join(ca, name)
	}
	return nodes
}

// status runs lis status with args and returns what it printed on
// stdout and its exit code.
func (c *statusCluster) status(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(lisBin, append([]string{"status", "--meta", c.metaTCP, "--tls-dir", c.nodes["laptop"]}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == statusDangerExit {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err, "%s%s", out, stderr.String())
	return string(out), 0
}

func (c *statusCluster) statusJSON(t *testing.T) (*statusReport, int) {
	t.Helper()
	out, code := c.status(t, "--json")
	var r statusReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), "lis status --json printed:\n%s", out)
	return &r, code
}

func (r *statusReport) dataserver(id string) dataserverReport {
	for _, s := range r.Sites {
		for _, d := range s.Dataservers {
			if d.ID == id {
				return d
			}
		}
	}
	return dataserverReport{}
}

func (d dataserverReport) lagTo(peer string) peerLagUI {
	for _, l := range d.Lag {
		if l.Peer == peer {
			return l
		}
	}
	return peerLagUI{}
}

// TestE2EStatus: with mutual TLS between every daemon and the tool, lis
// status shows three dataservers up in their sites; a
// file written under local_only + async_lazy is in the danger zone with
// its size until its batch is shipped, then the status is clean again;
// lis status chunks shows each replica behind, then current; a stopped
// dataserver turns suspect, then down, and its lag grows; --json and the
// text say the same; the exit status says whether something is in danger.
func TestE2EStatus(t *testing.T) {
	needE2E(t)
	c := startStatusCluster(t)
	r, code := c.statusJSON(t)
	require.Equal(t, 0, code)
	require.True(t, r.Healthy, "%+v", r)
	require.Len(t, r.Sites, 3)
	for _, n := range []string{"perth", "london", "tokyo"} {
		d := r.dataserver(n + "-1")
		require.Equal(t, "up", d.State, "%s", n)
		require.Positive(t, d.CapacityBytes)
	}
	require.Equal(t, "embedded", r.Metaservice.Engine)
	require.Equal(t, 1, r.Sessions)
	require.Len(t, r.Clients, 1)
	require.Equal(t, c.mnt, r.Clients[0].MountPoint)
	out, _ := c.status(t)
	require.Contains(t, out, "all data is where its policy wants it")
	watch := exec.Command(lisBin, "status", "--meta", c.metaTCP, "--tls-dir", c.nodes["laptop"], "--watch", "500ms")
	var screens strings.Builder
	watch.Stdout = &screens
	require.NoError(t, watch.Start())
	time.Sleep(1800 * time.Millisecond)
	require.NoError(t, watch.Process.Signal(syscall.SIGINT))
	require.NoError(t, watch.Wait(), "lis status --watch ended badly on SIGINT:\n%s", screens.String())
	require.GreaterOrEqual(t, strings.Count(screens.String(), "Lis status at"), 3, "--watch 500ms refreshed too rarely:\n%s", screens.String())

	lazy := filepath.Join(c.mnt, "lazy")
	require.NoError(t, os.Mkdir(lazy, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lazy, ".lis-policy.yaml"),
		[]byte("replication: async_lazy\nwrite_ack: local_only\ntarget_copies: 3\n"), 0o644))
	const size = 3<<20 + 5
	require.NoError(t, os.WriteFile(filepath.Join(lazy, "vm.img"), randomData(3, size), 0o644))
	written := time.Now()

	// In danger: only perth-1 has it, until the 6 s window passes.
	var text string
	require.Eventually(t, func() bool {
		r, code = c.statusJSON(t)
		return code == statusDangerExit && len(r.Danger) == 1
	}, 10*time.Second, 200*time.Millisecond, "the new file never showed in the danger zone: %+v", r)
	if time.Since(written) < 5*time.Second {
		f := r.Danger[0]
		require.Equal(t, "/lazy/vm.img", f.Path)
		require.Equal(t, "perth-1", f.Dataserver)
		require.Equal(t, int64(size), f.Bytes)
		require.Equal(t, 1, f.Current)
		require.Equal(t, 3, f.Target)
		require.Equal(t, int64(size), r.dataserver("perth-1").DangerBytes)
		require.Equal(t, int64(size), r.dataserver("perth-1").lagTo("london-1").Bytes)
		text, code = c.status(t)
		require.Equal(t, statusDangerExit, code, "%s", text)
		require.Contains(t, text, "WARNING: 3.0 MiB exists only on perth-1")
		require.Regexp(t, `perth-1\s+/lazy/vm.img\s+3.0 MiB in 1 chunk`, text)
		chunks := c.statusChunks(t, filepath.Join(lazy, "vm.img"))
		require.Regexp(t, `perth-1\s+primary, current`, chunks)
		require.Regexp(t, `london-1\s+\d+ (ms|s) behind \(3.0 MiB\)`, chunks)
		t.Logf("lis status:\n%s\nlis status chunks:\n%s", text, chunks)
	} else {
		t.Logf("the machine is slow: the danger zone was seen %s after the write, its figures are not checked", time.Since(written))
	}

	// Shipped: clean again, every replica current.
	require.Eventually(t, func() bool {
		r, code = c.statusJSON(t)
		return code == 0 && len(r.Danger) == 0 && len(r.UnderTarget) == 0
	}, 30*time.Second, 250*time.Millisecond, "the danger zone never cleared: %+v", r)
	chunks := c.statusChunks(t, filepath.Join(lazy, "vm.img"))
	require.Regexp(t, `london-1\s+current`, chunks)
	require.Regexp(t, `tokyo-1\s+current`, chunks)

	// tokyo-1 stops: suspect, then down; perth's copies there fall behind.
	hot := filepath.Join(c.mnt, "hot")
	require.NoError(t, os.Mkdir(hot, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hot, ".lis-policy.yaml"),
		[]byte("replication: async_priority\nwrite_ack: local_only\ntarget_copies: 3\n"), 0o644))
	require.NoError(t, c.ds["tokyo"].cmd.Process.Signal(syscall.SIGSTOP))
	defer c.ds["tokyo"].cmd.Process.Signal(syscall.SIGCONT)
	require.NoError(t, os.WriteFile(filepath.Join(hot, "a"), randomData(4, 1<<20), 0o644))
	stopped := time.Now()
	r = c.awaitState(t, "tokyo-1", "suspect", 10*time.Second)
	t.Logf("tokyo-1 suspect after %s", time.Since(stopped).Round(100*time.Millisecond))
	lag1 := c.awaitLag(t, "perth-1", "tokyo-1", 1<<20)
	// More writes to a chunk tokyo-1 has a copy of: its lag grows.
	f, err := os.OpenFile(filepath.Join(hot, "a"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(randomData(5, 1<<20))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	r = c.awaitState(t, "tokyo-1", "down", 20*time.Second)
	t.Logf("tokyo-1 down after %s", time.Since(stopped).Round(100*time.Millisecond))
	lag2 := c.awaitLag(t, "perth-1", "tokyo-1", 2<<20)
	r, _ = c.statusJSON(t)
	require.Greater(t, lag2.Bytes, lag1.Bytes, "the lag to tokyo-1 did not grow")
	require.Greater(t, lag2.OldestSeconds, lag1.OldestSeconds)
	require.Zero(t, r.dataserver("perth-1").lagTo("london-1").Bytes, "london-1 is up and should be current")
	text, code = c.status(t)
	require.Equal(t, statusDangerExit, code)
	requireTextMatchesJSON(t, text, r)
	t.Logf("lis status with tokyo-1 stopped:\n%s", text)
	require.Contains(t, text, "WARNING: dataserver tokyo-1 is down")
}

// awaitState waits until the status says dataserver id is in state, and
// leaves the report in r.
func (c *statusCluster) awaitState(t *testing.T, id, state string, within time.Duration) *statusReport {
	t.Helper()
	var r *statusReport
	require.Eventually(t, func() bool {
		r, _ = c.statusJSON(t)
		return r.dataserver(id).State == state
	}, within, 200*time.Millisecond, "%s never became %s: %+v", id, state, r)
	return r
}

// awaitLag waits until the status says peer's copies of ds's chunks lack
// at least bytes, and returns that lag.
func (c *statusCluster) awaitLag(t *testing.T, ds, peer string, bytes int64) peerLagUI {
	t.Helper()
	var r *statusReport
	require.Eventually(t, func() bool {
		r, _ = c.statusJSON(t)
		return r.dataserver(ds).lagTo(peer).Bytes >= bytes
	}, 10*time.Second, 200*time.Millisecond, "%s never reported %d bytes of lag to %s: %+v", ds, bytes, peer, r)
	return r.dataserver(ds).lagTo(peer)
}

func (c *statusCluster) statusChunks(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(lisBin, "status", "chunks", "--meta", c.metaTCP, "--tls-dir", c.nodes["laptop"], path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// requireTextMatchesJSON checks that the text names every dataserver with
// the state and lags the JSON gives.
func requireTextMatchesJSON(t *testing.T, text string, r *statusReport) {
	t.Helper()
	for _, s := range r.Sites {
		require.Contains(t, text, "site "+s.Site)
		for _, d := range s.Dataservers {
			require.Regexp(t, regexp.QuoteMeta(d.ID)+`\s+`+d.State, text)
			for _, l := range d.Lag {
				if l.Bytes > 0 {
					require.Contains(t, text, fmt.Sprintf("→ %s", l.Peer))
					require.Contains(t, text, bytesIEC(l.Bytes))
				}
			}
		}
	}
}

// TestE2EMetrics: every daemon serves Prometheus metrics, and the key
// series move when work is done.
func TestE2EMetrics(t *testing.T) {
	needE2E(t)
	c := startStatusCluster(t)
	dir := filepath.Join(c.mnt, "m")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"),
		[]byte("replication: async_priority\nwrite_ack: local_only\ntarget_copies: 2\n"), 0o644))
	before := map[string]map[string]float64{}
	for d, addr := range c.metrics {
		before[d] = scrape(t, addr)
	}
	for i := range 20 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), randomData(uint64(i), 256<<10), 0o644))
	}
	moved := func(d, series string) bool { return scrape(t, c.metrics[d])[series] > before[d][series] }
	require.Eventually(t, func() bool {
		return moved("perth", `lis_dataserver_replication_raw_bytes_total{peer="london-1"}`) ||
			moved("perth", `lis_dataserver_replication_raw_bytes_total{peer="tokyo-1"}`)
	}, 20*time.Second, 200*time.Millisecond, "perth-1 shipped nothing")
	for _, m := range []struct{ daemon, series string }{
		{"meta", `lis_metaservice_requests_total{code="OK",method="CreateFile"}`},
		{"meta", `lis_metaservice_request_duration_seconds_count{method="CommitWrite"}`},
		{"meta", `lis_metaservice_kv_transactions_total`},
		{"perth", `lis_dataserver_write_bytes_total`},
		{"perth", `lis_dataserver_requests_total{code="OK",method="SetReplicas"}`},
		{"mount", `lis_mount_request_duration_seconds_count{method="Meta.CreateFile"}`},
	} {
		require.True(t, moved(m.daemon, m.series), "%s: %s did not move", m.daemon, m.series)
	}
	require.Equal(t, 1.0, scrape(t, c.metrics["mount"])[`lis_client_invalidation_stream_up`],
		"the mount's invalidation stream is live")
	after := scrape(t, c.metrics["meta"])
	require.Equal(t, 3.0, after[`lis_metaservice_dataservers{state="up"}`])
	require.Equal(t, 1.0, after[`lis_metaservice_sessions`])
	requireSeries(t, c.metrics["meta"], `lis_metaservice_kv_conflicts_total`, `lis_metaservice_danger_bytes`,
		`lis_metaservice_replication_lag_bytes{dataserver="perth-1",peer="london-1"}`)
	requireSeries(t, c.metrics["perth"], `lis_dataserver_replication_limiter_wait_seconds_total`, `lis_dataserver_danger_bytes`,
		`lis_dataserver_replication_sent_bytes_total{peer="london-1"}`, `lis_dataserver_replication_lag_seconds{peer="london-1"}`)
}

// requireSeries waits until the daemon at addr exports every series.
func requireSeries(t *testing.T, addr string, series ...string) {
	t.Helper()
	var missing []string
	require.Eventually(t, func() bool {
		m := scrape(t, addr)
		missing = missing[:0]
		for _, s := range series {
			if _, ok := m[s]; !ok {
				missing = append(missing, s)
			}
		}
		return len(missing) == 0
	}, 10*time.Second, 200*time.Millisecond, "%s does not export %v", addr, missing)
}

// scrape reads a Prometheus text exposition into series → value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
