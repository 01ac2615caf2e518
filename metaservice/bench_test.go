package metaservice

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// benchService opens a Service on an embedded engine in a temp dir (real
// disk, no per-operation sync).
func benchService(b *testing.B) *Service {
	e, err := kv.Open(context.Background(), "embedded:"+b.TempDir())
	require.NoError(b, err)
	s, err := Open(context.Background(), e, Options{})
	require.NoError(b, err)
	b.Cleanup(func() { s.Close(); e.Close() })
	return s
}

func reportRate(b *testing.B, s *Service, rt0 uint64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(s.Engine().Stats().RoundTrips-rt0)/float64(b.N), "kv-rt/op")
}

// BenchmarkCoreCreate measures the namespace core alone, without RPC.
func BenchmarkCoreCreate(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	rt0 := s.Engine().Stats().RoundTrips
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Mknod(ctx, Root, RootIno, fmt.Sprintf("f%d", i), NewNode{Mode: 0644}); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, s, rt0)
}

// BenchmarkCoreGetAttr measures a stat in the core alone.
func BenchmarkCoreGetAttr(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	a, err := s.Mknod(ctx, Root, RootIno, "f", NewNode{Mode: 0644})
	require.NoError(b, err)
	rt0 := s.Engine().Stats().RoundTrips
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.GetAttr(ctx, a.Ino); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, s, rt0)
}

// BenchmarkCoreRenameSameNames renames one file back and forth: every
// name is deleted and re-created again and again, the pattern of lock
// files. Its cost must not grow with b.N.
func BenchmarkCoreRenameSameNames(b *testing.B) {
	s := benchService(b)
	ctx := context.Background()
	_, err := s.Mknod(ctx, Root, RootIno, "a", NewNode{Mode: 0644})
	require.NoError(b, err)
	rt0 := s.Engine().Stats().RoundTrips
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := "a", "b"
		if i%2 == 1 {
			from, to = "b", "a"
		}
		if err := s.Rename(ctx, Root, RootIno, from, RootIno, to, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, s, rt0)
}
