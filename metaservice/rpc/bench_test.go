package rpc

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/pingcap/log"
	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikv"
	"go.uber.org/zap/zapcore"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/kv"
)

// The benchmarks measure one client calling through the RPC server over a
// unix socket, on the embedded engine in a temp dir (real disk, no
// per-operation sync): ops/s, and KV round trips per operation as the
// engine counts them (what each operation would cost against TiKV).

func benchEnv(b *testing.B) *env {
	return startEnv(b, "embedded:"+b.TempDir(), "unix")
}

// measure runs op b.N times serially and reports the rates.
func measure(b *testing.B, e *env, op func(i int) error) {
	b.Helper()
	rt0 := e.eng.Stats().RoundTrips
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	report(b, e, rt0)
}

// measureParallel runs op from GOMAXPROCS goroutines sharing e's one
// client connection; i is unique across goroutines.
func measureParallel(b *testing.B, e *env, op func(i int) error) {
	b.Helper()
	var next atomic.Int64
	rt0 := e.eng.Stats().RoundTrips
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(int(next.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	report(b, e, rt0)
}

func report(b *testing.B, e *env, rt0 uint64) {
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(e.eng.Stats().RoundTrips-rt0)/float64(b.N), "kv-rt/op")
}

func createOp(ctx context.Context, e *env, dir ms.Ino) func(int) error {
	return func(i int) error {
		_, err := e.client.Create(ctx, root, dir, fmt.Sprintf("f%d", i), ms.NewNode{Mode: 0644, Exclusive: true}, 0)
		return err
	}
}

func BenchmarkCreate(b *testing.B) {
	e := benchEnv(b)
	measure(b, e, createOp(context.Background(), e, ms.RootIno))
}

func BenchmarkCreateParallel(b *testing.B) {
	e := benchEnv(b)
	measureParallel(b, e, createOp(context.Background(), e, ms.RootIno))
}

func statOp(b *testing.B, e *env) func(int) error {
	ctx := context.Background()
	f, err := e.client.Create(ctx, root, ms.RootIno, "f", ms.NewNode{Mode: 0644}, 0)
	require.NoError(b, err)
	return func(int) error {
		_, err := e.client.GetAttr(ctx, f.Ino)
		return err
	}
}

func BenchmarkStat(b *testing.B) {
	e := benchEnv(b)
	measure(b, e, statOp(b, e))
}

func BenchmarkStatParallel(b *testing.B) {
	e := benchEnv(b)
	measureParallel(b, e, statOp(b, e))
}

// BenchmarkRename moves files, created before the clock starts, to
// another directory under a new name (as mv does). Each name is used once:
// a name renamed back and forth is a different workload, whose cost on
// the embedded engine grows with the versions of its keys in the memtable.
func BenchmarkRename(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	var dirs [2]ms.Ino
	for i := range dirs {
		d, err := e.client.Mkdir(ctx, root, ms.RootIno, fmt.Sprintf("d%d", i), ms.NewNode{Mode: 0755})
		require.NoError(b, err)
		dirs[i] = d.Ino
	}
	create := createOp(ctx, e, dirs[0])
	for i := range b.N {
		require.NoError(b, create(i))
	}
	measure(b, e, func(i int) error {
		return e.client.Rename(ctx, root, dirs[0], fmt.Sprintf("f%d", i), dirs[1], fmt.Sprintf("g%d", i), 0)
	})
}

// BenchmarkUnlink removes files created before the clock starts.
func BenchmarkUnlink(b *testing.B) {
	e := benchEnv(b)
	ctx := context.Background()
	create := createOp(ctx, e, ms.RootIno)
	for i := range b.N {
		require.NoError(b, create(i))
	}
	measure(b, e, func(i int) error {
		return e.client.Unlink(ctx, root, ms.RootIno, fmt.Sprintf("f%d", i))
	})
}

// BenchmarkCreateTiKV creates files through the RPC server on the TiKV
// engine, against client-go's in-process mock cluster with the volume cut
// into several regions (the mock has no network: the figure of interest
// is kv-rt/op, each of which costs a real round trip on a cluster).
func BenchmarkCreateTiKV(b *testing.B) {
	// The mock cluster implements neither 1PC nor async commit, and
	// client-go warns at every commit that it falls back to 2PC.
	log.SetLevel(zapcore.ErrorLevel)
	client, cluster, pd, err := testutils.NewMockTiKV("", nil)
	require.NoError(b, err)
	var splits [][]byte
	for _, k := range []string{"G", "S\x00\x00A", "S\x00\x00D", "S\x00\x00N", "S\x00\x01"} {
		splits = append(splits, append(kv.VolumePrefix("bench"), k...))
	}
	testutils.BootstrapWithMultiRegions(cluster, splits...)
	store, err := tikv.NewTestTiKVStore(client, pd, nil, nil, 0)
	require.NoError(b, err)
	b.Cleanup(func() { store.Close() })
	eng, err := kv.NewTiKVFromStore(store, "bench")
	require.NoError(b, err)
	b.Cleanup(func() { eng.Close() })
	e := serveEngine(b, eng, "unix")
	measure(b, e, createOp(context.Background(), e, ms.RootIno))
}

// fixedMeta answers GetAttr without touching the core, so that
// BenchmarkTransportFloor measures the RPC layer alone.
type fixedMeta struct {
	Meta
	attr ms.Attr
}

func (m *fixedMeta) GetAttr(context.Context, ms.Ino) (*ms.Attr, error) {
	a := m.attr
	return &a, nil
}

// BenchmarkTransportFloor is a stat whose server side does no KV work:
// the cost of one call through gRPC, msgpack and the unix socket.
func BenchmarkTransportFloor(b *testing.B) {
	_, addr := serve(b, &fixedMeta{attr: ms.Attr{Ino: 5, Mode: 0100644, Nlink: 1}}, "unix")
	c := dial(b, addr)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.GetAttr(ctx, 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
