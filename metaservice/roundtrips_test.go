package metaservice

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// TestKVRoundTripsPerOp states what a small file's operations cost in KV
// round trips: on TiKV (client-go's mock cluster, which has no 1PC, so a
// commit is a prewrite and a commit), and what the embedded engine counts
// the same transactions would cost on a TiKV with 1PC (a timestamp, the
// reads, one commit). The embedded counts are exact, and bounded here; a
// stat the client has cached costs none, since it makes no call. (The
// fake dataserver pool has no admin token, so installing a new chunk's
// lease reads the registry each time: 2 of create+chunk's.)
func TestKVRoundTripsPerOp(t *testing.T) {
	for _, eng := range []struct {
		name string
		open func(*testing.T) kv.Engine
		max  map[string]float64 // bounds, for the engine whose count is exact
	}{
		{"tikv-mock", tikvEngine, nil},
		{"embedded", func(t *testing.T) kv.Engine {
			e, err := kv.Open(context.Background(), "embedded:"+t.TempDir())
			require.NoError(t, err)
			t.Cleanup(func() { e.Close() })
			return e
		}, map[string]float64{"create+chunk": 5.5, "commit": 4, "stat": 1, "unlink": 5}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			f := newFixture(t, eng.open)
			f.register("ds1")
			sid, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h"})
			require.NoError(t, err)
			const n = 20
			inos := make([]Ino, n)
			per := func(op string, do func(i int) error) {
				rt0 := f.s.Engine().Stats().RoundTrips
				for i := range n {
					require.NoError(t, do(i), op)
				}
				got := float64(f.s.Engine().Stats().RoundTrips-rt0) / n
				t.Logf("%s: %.2f KV round trips", op, got)
				if bound, ok := eng.max[op]; ok {
					require.LessOrEqual(t, got, bound, op)
				}
			}
			per("create+chunk", func(i int) error {
				cf, err := f.s.CreateFile(f.ctx, alice, RootIno, fmt.Sprintf("f%d", i), NewNode{Mode: 0o644}, sid, "ds1", time.Minute)
				if err == nil {
					inos[i] = cf.Attr.Ino
				}
				return err
			})
			per("commit", func(i int) error {
				_, err := f.s.CommitWrite(f.ctx, inos[i], 1024, 1, []ChunkVersion{{Index: 0, Version: 1, Dataserver: "ds1", Blocks: 1}})
				return err
			})
			per("stat", func(i int) error { _, err := f.s.GetAttr(f.ctx, inos[i]); return err })
			per("unlink", func(i int) error { return f.s.Unlink(f.ctx, alice, RootIno, fmt.Sprintf("f%d", i)) })
		})
	}
}
