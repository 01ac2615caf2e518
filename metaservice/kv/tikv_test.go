package kv_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/log"
	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikv"
	"go.uber.org/zap/zapcore"

	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/kv/kvtest"
)

func TestMain(m *testing.M) {
	// The mock cluster implements neither 1PC nor async commit: client-go
	// warns at every commit that it falls back to 2PC.
	log.SetLevel(zapcore.ErrorLevel)
	os.Exit(m.Run())
}

// splitPoints cut the keys the tests use into many regions.
var splitPoints = []string{"\x00", "a", "c", "k", "k4", "r", "ro", "rw/", "x", "\xff"}

// newMockStore returns a client-go store on an in-process mock cluster
// whose key space for volume is cut into len(splitPoints)+1 regions.
func newMockStore(t testing.TB, volume string) *tikv.KVStore {
	client, cluster, pd, err := testutils.NewMockTiKV("", nil)
	require.NoError(t, err)
	var keys [][]byte
	for _, p := range splitPoints {
		keys = append(keys, append(kv.VolumePrefix(volume), p...))
	}
	testutils.BootstrapWithMultiRegions(cluster, keys...)
	store, err := tikv.NewTestTiKVStore(client, pd, nil, nil, 0)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store
}

func openMockTiKV(t testing.TB, opts ...kv.Option) *kv.TiKV {
	e, err := kv.NewTiKVFromStore(newMockStore(t, "vol"), "vol", opts...)
	require.NoError(t, err)
	return e
}

func TestTiKVConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openMockTiKV(t) })
}

// regionOf returns the id of the region holding a volume key.
func regionOf(t *testing.T, e *kv.TiKV, volume string, key []byte) uint64 {
	loc, err := e.Store().GetRegionCache().LocateKey(tikv.NewBackoffer(context.Background(), 1000),
		append(kv.VolumePrefix(volume), key...))
	require.NoError(t, err)
	return loc.Region.GetID()
}

// TestTiKVCrossRegionAtomic updates keys spread over every region in one
// transaction, again and again, while readers check that they never see
// two generations at once.
func TestTiKVCrossRegionAtomic(t *testing.T) {
	e := openMockTiKV(t)
	defer e.Close()
	keys := [][]byte{{0x00, 1}, []byte("b"), []byte("d"), []byte("k2"), []byte("k5"), []byte("ra"),
		[]byte("rob"), []byte("rw/z"), []byte("y"), {0xff, 1}}
	regions := map[uint64]bool{}
	for _, k := range keys {
		regions[regionOf(t, e, "vol", k)] = true
	}
	require.GreaterOrEqual(t, len(regions), 8, "the transaction spans many regions")

	writeGen := func(gen int) error {
		return e.Txn(context.Background(), func(tx kv.Txn) error {
			for _, k := range keys {
				if err := tx.Set(k, []byte(strconv.Itoa(gen))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	require.NoError(t, writeGen(0))
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	readErr := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := e.Txn(context.Background(), func(tx kv.Txn) error {
					got, err := tx.BatchGet(keys)
					if err != nil {
						return err
					}
					for _, k := range keys {
						if string(got[string(k)]) != string(got[string(keys[0])]) {
							return fmt.Errorf("torn read: %q", got)
						}
					}
					return nil
				}, kv.ReadOnly())
				if err != nil {
					readErr <- err
					return
				}
				// Pause: a reader meeting a lock pushes the writer's commit
				// timestamp, and back-to-back readers slow the writer a lot.
				time.Sleep(time.Millisecond)
			}
		}()
	}
	for gen := 1; gen <= 10; gen++ {
		require.NoError(t, writeGen(gen))
	}
	stop()
	wg.Wait()
	close(readErr)
	for err := range readErr {
		require.NoError(t, err)
	}
}

func TestTiKVVolumesAreIsolated(t *testing.T) {
	store := newMockStore(t, "a")
	a, err := kv.NewTiKVFromStore(store, "a")
	require.NoError(t, err)
	defer a.Close()
	b, err := kv.NewTiKVFromStore(store, "b")
	require.NoError(t, err)
	defer b.Close()
	for _, e := range []*kv.TiKV{a, b} {
		require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
			return tx.Set([]byte("k"), []byte(fmt.Sprintf("%p", e)))
		}))
	}
	for _, e := range []*kv.TiKV{a, b} {
		var seen []string
		require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
			return tx.Scan(nil, nil, 0, func(k, v []byte) bool {
				seen = append(seen, string(k)+"="+string(v))
				return true
			})
		}, kv.ReadOnly()))
		require.Equal(t, []string{"k=" + fmt.Sprintf("%p", e)}, seen, "a scan of everything sees its own volume only")
	}
	_, err = kv.NewTiKVFromStore(store, "bad/name")
	require.Error(t, err)
}

func TestTiKVSplitAt(t *testing.T) {
	e := openMockTiKV(t)
	defer e.Close()
	require.Equal(t, regionOf(t, e, "vol", []byte("s1")), regionOf(t, e, "vol", []byte("s2")))
	require.NoError(t, e.SplitAt(context.Background(), []byte("s2")))
	require.NotEqual(t, regionOf(t, e, "vol", []byte("s1")), regionOf(t, e, "vol", []byte("s2")))
	require.Equal(t, regionOf(t, e, "vol", []byte("s2")), regionOf(t, e, "vol", []byte("s3")))
}

// TestTiKVGC checks that the engine advances the GC safe point: on demand,
// to now − HistoryWindow, and on its timer. The mock cluster records the
// safe point in its PD and client-go resolves locks below it; the mock does
// not drop old MVCC versions (a real TiKV does so in compaction once PD has
// the safe point), so that part cannot be observed here.
func TestTiKVGC(t *testing.T) {
	const window = time.Minute
	e := openMockTiKV(t, kv.WithGC(-1, window))
	defer e.Close()
	before := time.Now()
	sp, err := e.GC(context.Background())
	require.NoError(t, err)
	spTime := oracle.GetTimeFromTS(sp)
	require.WithinRange(t, spTime, before.Add(-window-time.Second), time.Now().Add(-window+time.Second))
	pdSP, err := e.Store().GetPDClient().UpdateGCSafePoint(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, sp, pdSP, "PD holds the new safe point")
	saved, err := e.Store().GetSafePointKV().Get(tikv.GcSavedSafePoint)
	require.NoError(t, err)
	require.Equal(t, strconv.FormatUint(sp, 10), saved)
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		return tx.Set([]byte("after-gc"), []byte("ok"))
	}), "transactions newer than the safe point work")

	timed := openMockTiKV(t, kv.WithGC(5*time.Millisecond, time.Millisecond))
	defer timed.Close()
	require.Eventually(t, func() bool {
		sp, err := timed.Store().GetPDClient().UpdateGCSafePoint(context.Background(), 0)
		return err == nil && sp > 0
	}, 10*time.Second, 5*time.Millisecond, "the timer advances the safe point")
}

// TestTiKVRoundTrips pins the number of round trips of typical
// transactions on the mock cluster (which lacks 1PC and async commit, so
// commits take the 2PC path).
func TestTiKVRoundTrips(t *testing.T) {
	e := openMockTiKV(t)
	defer e.Close()
	ctx := context.Background()
	require.NoError(t, e.Txn(ctx, func(tx kv.Txn) error { return tx.Set([]byte("a1"), []byte("v")) }))
	cases := []struct {
		name string
		want uint64
		opts []kv.TxnOption
		fn   func(tx kv.Txn) error
	}{
		{"OnePointRead", 1, []kv.TxnOption{kv.ReadOnly()}, func(tx kv.Txn) error {
			_, err := tx.Get([]byte("a1")) // at "latest": no timestamp
			return err
		}},
		{"TwoPointReads", 3, []kv.TxnOption{kv.ReadOnly()}, func(tx kv.Txn) error {
			if _, err := tx.Get([]byte("a1")); err != nil {
				return err
			}
			_, err := tx.Get([]byte("a2")) // timestamp + BatchGet{a2, re-check a1}
			return err
		}},
		{"ReadOnlyScan", 2, []kv.TxnOption{kv.ReadOnly()}, func(tx kv.Txn) error {
			return tx.Scan([]byte("a"), []byte("b"), 0, func(_, _ []byte) bool { return true })
		}},
		{"ReadNothingWritten", 2, nil, func(tx kv.Txn) error {
			_, err := tx.Get([]byte("a1")) // timestamp + get; no commit
			return err
		}},
		// timestamp + get + (latest timestamp + prewrite + commit
		// timestamp + commit): a real TiKV commits this with 1PC after the
		// latest timestamp, 4 round trips in all.
		{"ReadModifyWrite", 6, nil, func(tx kv.Txn) error {
			if _, err := tx.Get([]byte("a1")); err != nil {
				return err
			}
			return tx.Set([]byte("a1"), []byte("w"))
		}},
	}
	for _, c := range cases {
		before := e.Stats().RoundTrips
		require.NoError(t, e.Txn(ctx, c.fn, c.opts...), c.name)
		require.Equal(t, c.want, e.Stats().RoundTrips-before, c.name)
	}
}

// BenchmarkTiKVTxn runs the shared benchmark on the mock cluster. The mock
// has no network and lacks 1PC and async commit, so ops/s says little about
// a real cluster; roundtrips/op is the figure to watch.
func BenchmarkTiKVTxn(b *testing.B) {
	e := openMockTiKV(b)
	defer e.Close()
	kvtest.Bench(b, e)
}
