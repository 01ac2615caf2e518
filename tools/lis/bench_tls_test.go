package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	clusterTLSMB     = flag.Int("cluster.tlsmb", 256, "MiB that BenchmarkClusterReplicationTLS writes per round")
	clusterTLSRounds = flag.Int("cluster.tlsrounds", 3, "rounds of BenchmarkClusterReplicationTLS per b.N (each writes once in plaintext and once over TLS)")
)

// BenchmarkClusterReplicationTLS: what mutual TLS between the daemons
// costs replication. A write + fsync at perth under write_ack
// local_plus_one and two copies returns once london's dataserver holds
// all of it durably, so its rate is that of the replication stream (and
// of the metaservice's lease and replica-list calls). Two clusters run
// side by side, one in plaintext and one speaking TLS, and write in turns
// (the order swapped every round), so that the drift of a shared machine
// hits both alike; the figures are medians over the rounds, the ratio
// that of each round's pair:
//
//	go test ./tools/lis -run '^$' -bench ClusterReplicationTLS -benchtime 1x [-cluster.tlsmb 256 -cluster.tlsrounds 3]
//
// ratio = MB/s with TLS / MB/s in plaintext.
func BenchmarkClusterReplicationTLS(b *testing.B) {
	needE2E(b)
	size := int64(*clusterTLSMB) << 20
	_, nodes := tlsNodes(b)
	dirs := [2]string{replicationBenchDir(b, nil), replicationBenchDir(b, nodes)}
	var plain, secured, ratios []float64
	for i := range b.N * *clusterTLSRounds {
		var r [2]float64
		for k := range 2 {
			which := (i + k) % 2
			r[which] = replicatedWriteRate(b, dirs[which], fmt.Sprintf("seq%d", i), size)
			b.Logf("round %d, %s: %.1f MB/s", i, [2]string{"plaintext", "tls"}[which], r[which])
		}
		plain, secured, ratios = append(plain, r[0]), append(secured, r[1]), append(ratios, r[1]/r[0])
	}
	b.ReportMetric(median(plain), "MB/s-plaintext")
	b.ReportMetric(median(secured), "MB/s-tls")
	b.ReportMetric(median(ratios), "tls/plaintext")
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// replicationBenchDir starts a tlsCluster (TLS with nodes, plaintext
// without), mounts it at perth and returns a directory there under
// local_plus_one and two copies. London keeps its chunks in memory and
// yields the CPU, as a host of its own would (see clusterWriteRate).
func replicationBenchDir(b *testing.B, nodes map[string]string) string {
	b.Helper()
	londonDir, err := os.MkdirTemp("/dev/shm", "lisds")
	require.NoError(b, err)
	b.Cleanup(func() { os.RemoveAll(londonDir) })
	c := startTLSCluster(b, nodes, londonDir)
	require.NoError(b, syscall.Setpriority(syscall.PRIO_PROCESS, c.london.cmd.Process.Pid, 19))
	dir := filepath.Join(c.mount(b, c.perth, "perth-1"), "bench")
	require.NoError(b, os.Mkdir(dir, 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("write_ack: local_plus_one\ntarget_copies: 2\n"), 0o644))
	return dir
}

// replicatedWriteRate writes size bytes + fsync to dir/name and returns
// the rate in MB/s.
func replicatedWriteRate(b *testing.B, dir, name string, size int64) float64 {
	b.Helper()
	syscall.Sync() // what earlier rounds left to write back is not this one's cost
	buf := randomData(1, 1<<20)
	start := time.Now()
	f, err := os.Create(filepath.Join(dir, name))
	require.NoError(b, err)
	for off := int64(0); off < size; off += int64(len(buf)) {
		_, err := f.Write(buf[:min(int64(len(buf)), size-off)])
		require.NoError(b, err)
	}
	require.NoError(b, f.Sync())
	require.NoError(b, f.Close())
	return float64(size) / 1e6 / time.Since(start).Seconds()
}
