package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
)

// The cluster benchmarks run real `lis` daemons on 127.0.0.1, as the
// end-to-end tests do; each reports ratios against a baseline measured in
// the same run:
//
//	go test ./tools/lis -run '^$' -bench Cluster -benchtime 1x [-cluster.mb 1024]
var (
	clusterMB     = flag.Int("cluster.mb", 1024, "MiB that BenchmarkClusterWrite writes")
	clusterNoRepl = flag.Bool("cluster.norepl", false, "BenchmarkClusterWrite also writes on three dataservers with one copy")
	clusterRTT    = flag.Duration("cluster.rtt", 0, "BenchmarkClusterFsync: round trip added between the writer's host and the replica's (a user-space proxy)")
)

// BenchmarkClusterWrite: a large write + fsync through a mount whose
// dataserver replicates to two others (local_only, async_priority, three
// copies), against the same write on a cluster of that one dataserver.
// ratio = MB/s with three dataservers / MB/s with one.
func BenchmarkClusterWrite(b *testing.B) {
	needE2E(b)
	size := int64(*clusterMB) << 20
	rate := func(name string, sites []string, policy string) float64 {
		var r float64
		// A sub-benchmark each, so that each cluster is stopped (and
		// done writing back) before the next is measured.
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			r, cpu = clusterWriteRate(b, sites, policy, size)
			b.ReportMetric(r, "MB/s")
			b.ReportMetric(cpu.Seconds()*1000/(float64(size)/1e6), "cpu-ms/MB-primary")
		})
		return r
	}
	one := rate("1ds", []string{"perth"}, "write_ack: local_only\ntarget_copies: 1\n")
	three := rate("3ds", []string{"perth", "london", "nyc"}, "write_ack: local_only\nreplication: async_priority\ntarget_copies: 3\n")
	ratios := map[string]float64{"3ds/1ds": three / one}
	if *clusterNoRepl {
		ratios["3ds-1copy/1ds"] = rate("3ds-1copy", []string{"perth", "london", "nyc"}, "write_ack: local_only\ntarget_copies: 1\n") / one
		ratios["1ds-again/1ds"] = rate("1ds-again", []string{"perth"}, "write_ack: local_only\ntarget_copies: 1\n") / one
	}
	b.Run("ratios", func(b *testing.B) {
		for name, r := range ratios {
			b.ReportMetric(r, name)
		}
	})
}

// clusterWriteRate starts a cluster of sites, writes size bytes + fsync
// under policy at the first, and returns the rate in MB/s (best of b.N)
// and the CPU time the writer's dataserver spent on the last write.
// The other sites' dataservers keep their chunks in memory (/dev/shm):
// on one machine they would otherwise share the writer's disk, which
// separate hosts do not.
func clusterWriteRate(b *testing.B, names []string, policy string, size int64) (float64, time.Duration) {
	b.Helper()
	meta := startMetaservice(b, shortTempDir(b))
	first := startDataserver(b, shortTempDir(b), names[0]+"-1", "--site", names[0], "--region", "r-"+names[0], "--meta", meta.addr())
	for _, n := range names[1:] {
		dir, err := os.MkdirTemp("/dev/shm", "lisds")
		require.NoError(b, err)
		b.Cleanup(func() { os.RemoveAll(dir) })
		ds := startDataserver(b, dir, n+"-1", "--site", n, "--region", "r-"+n, "--meta", meta.addr())
		// ... and yield the CPU to the writer's host, as a host of
		// their own would.
		require.NoError(b, syscall.Setpriority(syscall.PRIO_PROCESS, ds.cmd.Process.Pid, 19))
	}
	mnt := filepath.Join(publicTempDir(b), "mnt")
	require.NoError(b, os.Mkdir(mnt, 0o755))
	mountLis(b, "--meta", meta.addr(), "--dataserver", "unix:"+first.unix, mnt)
	require.Eventually(b, func() bool { return len(listDataservers(b, meta.addr())) == len(names) }, 30*time.Second, 50*time.Millisecond)
	syscall.Sync() // what earlier runs left to write back is not this one's cost
	dir := filepath.Join(mnt, "bench")
	require.NoError(b, os.Mkdir(dir, 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte(policy), 0o644))
	buf := randomData(1, 1<<20)
	best, cpu := 0.0, time.Duration(0)
	for i := range b.N {
		start, cpu0 := time.Now(), processCPU(b, first.cmd.Process.Pid)
		f, err := os.Create(filepath.Join(dir, "seq"+string(rune('a'+i%26))))
		require.NoError(b, err)
		for off := int64(0); off < size; off += int64(len(buf)) {
			_, err := f.Write(buf[:min(int64(len(buf)), size-off)])
			require.NoError(b, err)
		}
		require.NoError(b, f.Sync())
		require.NoError(b, f.Close())
		best = max(best, float64(size)/1e6/time.Since(start).Seconds())
		cpu = processCPU(b, first.cmd.Process.Pid) - cpu0
	}
	return best, cpu
}

// processCPU is the user and system CPU time process pid has used.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(b, err)
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	require.NoError(b, errors.Join(err1, err2))
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// BenchmarkClusterFsync: what write_ack local_plus_one adds to a 4 KiB
// write + fsync, against local_only on the same two-site cluster, in
// round trips to the replica's dataserver (measured in the same run as
// the mean of small RPCs to it). The replica's own fdatasync is in the
// extra time too: on one machine it, not the network, is most of it.
func BenchmarkClusterFsync(b *testing.B) {
	needE2E(b)
	perth, london := distantPair(b, *clusterRTT)
	lat := map[string]time.Duration{}
	n := 200 * b.N
	for _, ack := range []string{"local_only", "local_plus_one"} {
		dir := filepath.Join(perth, ack)
		require.NoError(b, os.Mkdir(dir, 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 2\nwrite_ack: "+ack+"\n"), 0o644))
		lat[ack] = fsyncLatency(b, filepath.Join(dir, "db"), n)
	}
	rtt := replicaRTT(b, london, n)
	extra := lat["local_plus_one"] - lat["local_only"]
	b.ReportMetric(float64(lat["local_only"].Microseconds()), "µs/fsync-local_only")
	b.ReportMetric(float64(lat["local_plus_one"].Microseconds()), "µs/fsync-local_plus_one")
	b.ReportMetric(float64(rtt.Microseconds()), "µs/rtt")
	b.ReportMetric(float64(extra)/float64(rtt), "extra-rtts/fsync")
}

// fsyncLatency is the mean time of a 4 KiB pwrite + fsync, n times, in a
// 1 MiB file at path.
func fsyncLatency(b *testing.B, path string, n int) time.Duration {
	b.Helper()
	f, err := os.Create(path)
	require.NoError(b, err)
	defer f.Close()
	require.NoError(b, f.Truncate(1<<20))
	require.NoError(b, f.Sync())
	buf := randomData(2, 4096)
	start := time.Now()
	for i := range n {
		_, err := f.WriteAt(buf, int64(i%256)*4096)
		require.NoError(b, err)
		require.NoError(b, f.Sync())
	}
	return time.Since(start) / time.Duration(n)
}

// distantPair starts a metaservice, a dataserver at perth with a mount
// (returned) and one at london, reached through a proxy that adds rtt to
// every round trip (none when 0); it returns the mount and the address
// london is reached at.
func distantPair(b *testing.B, rtt time.Duration) (string, string) {
	meta := startMetaservice(b, shortTempDir(b))
	perth := startDataserver(b, shortTempDir(b), "perth-1", "--site", "perth", "--region", "au", "--meta", meta.addr())
	listen := freePort(b)
	reach := listen
	if rtt > 0 {
		reach = startDelayProxy(b, listen, rtt/2).addr()
	}
	startDataserver(b, shortTempDir(b), "london-1", "--site", "london", "--region", "eu", "--meta", meta.addr(),
		"--listen", listen, "--advertise", reach)
	mnt := filepath.Join(publicTempDir(b), "perth")
	require.NoError(b, os.Mkdir(mnt, 0o755))
	mountLis(b, "--meta", meta.addr(), "--dataserver", "unix:"+perth.unix, mnt)
	require.Eventually(b, func() bool { return len(listDataservers(b, meta.addr())) == 2 }, 30*time.Second, 50*time.Millisecond)
	return mnt, reach
}

// replicaRTT is the mean time of a small RPC to the dataserver at addr.
func replicaRTT(b *testing.B, addr string, n int) time.Duration {
	b.Helper()
	c, err := dataserver.Dial(addr)
	require.NoError(b, err)
	defer c.Close()
	ctx := context.Background()
	_, err = c.Stat(ctx) // connect
	require.NoError(b, err)
	start := time.Now()
	for range n {
		c.ChunkInfo(ctx, 1) // ENOENT: a round trip with no work
	}
	return time.Since(start) / time.Duration(n)
}
