package kvtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lis-fs/lis/metaservice/kv"
)

// Bench runs read-modify-write transactions on e in parallel and reports
// ops/s, round trips, conflicts and syncs per transaction. Sub-benchmarks:
// OwnKey (every goroutine increments its own key: throughput without
// conflicts), SharedKey (all increment one key: conflicts and retries) and
// PointRead (read-only single Get). OwnKey and PointRead run 8 goroutines
// per CPU (many committers: group commit can show); SharedKey runs one per
// CPU, as optimistic retries are not fair: under heavy contention on one key
// a transaction can lose every one of its attempts.
func Bench(b *testing.B, e kv.Engine, opts ...kv.TxnOption) {
	var worker atomic.Int64
	cases := []struct {
		name        string
		parallelism int // goroutines per CPU
		run         func(pb *testing.PB)
	}{
		{"OwnKey", 8, func(pb *testing.PB) {
			key := fmt.Sprintf("bench/own/%d", worker.Add(1))
			for pb.Next() {
				if err := e.Txn(context.Background(), func(tx kv.Txn) error { return increment(tx, key) }, opts...); err != nil {
					b.Error(err)
					return
				}
			}
		}},
		{"SharedKey", 1, func(pb *testing.PB) {
			for pb.Next() {
				if err := e.Txn(context.Background(), func(tx kv.Txn) error { return increment(tx, "bench/shared") }, opts...); err != nil {
					b.Error(err)
					return
				}
			}
		}},
		{"PointRead", 8, func(pb *testing.PB) {
			for pb.Next() {
				err := e.Txn(context.Background(), func(tx kv.Txn) error {
					_, err := tx.Get([]byte("bench/own/1"))
					return err
				}, kv.ReadOnly())
				if err != nil {
					b.Error(err)
					return
				}
			}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			before := e.Stats()
			start := time.Now()
			b.SetParallelism(c.parallelism)
			b.ResetTimer()
			b.RunParallel(c.run)
			b.StopTimer()
			elapsed := time.Since(start)
			after := e.Stats()
			n := float64(b.N)
			b.ReportMetric(n/elapsed.Seconds(), "ops/s")
			b.ReportMetric(float64(after.RoundTrips-before.RoundTrips)/n, "roundtrips/op")
			b.ReportMetric(float64(after.Conflicts-before.Conflicts)/n, "conflicts/op")
			b.ReportMetric(float64(after.Syncs-before.Syncs)/n, "syncs/op")
		})
	}
}
