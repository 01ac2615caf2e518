package dataserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchServer is a dataserver on the local disk, reached over its unix
// socket, for the benchmarks.
func benchServer(b *testing.B) *testServer {
	return startServer(b, shortDir(b), "bench", func(c *Config) { c.CheckpointInterval = 2 * time.Second })
}

// BenchmarkSequentialWrite writes b.N MiB sequentially (1 MiB writes,
// one chunk after another) through the dataserver RPC, and the same bytes
// with os.File.Write to files on the same disk, and reports both rates and
// their ratio. The two take turns, one chunk's worth (64 MiB) each, so that
// both see the same disk: on a shared machine the disk's speed drifts by
// more than the difference being measured. "synced" ends each turn with a
// sync (Client.Sync of the chunk / fsync), so the ratio compares durable
// throughput, which the disk bounds; without it both mostly measure copies
// into the page cache. "qd4" keeps four writes in flight, as a FUSE
// client with several writing threads does.
func BenchmarkSequentialWrite(b *testing.B) {
	for _, bc := range []struct {
		name   string
		depth  int
		synced bool
	}{{"qd1", 1, false}, {"qd4", 4, false}, {"qd1-synced", 1, true}, {"qd4-synced", 4, true}} {
		b.Run(bc.name, func(b *testing.B) {
			ts := benchServer(b)
			data := randBytes(rand.New(rand.NewPCG(1, 1)), 1<<20)
			b.SetBytes(1 << 20)
			var ds, plain time.Duration
			b.ResetTimer()
			for turn, left := 0, b.N; left > 0; turn++ {
				n := min(left, 64)
				left -= n
				timeDS := func() { ds += seqWriteDS(b, ts.client, uint64(turn), n, bc.depth, bc.synced, data) }
				timePlain := func() {
					plain += seqWriteFile(b, filepath.Join(ts.cfg.Dir, fmt.Sprint("plain", turn)), n, bc.synced, data)
				}
				if turn%2 == 0 {
					timeDS()
					timePlain()
				} else {
					timePlain()
					timeDS()
				}
			}
			b.StopTimer()
			mb := float64(b.N)
			b.ReportMetric(mb/ds.Seconds(), "ds_MB/s")
			b.ReportMetric(mb/plain.Seconds(), "file_MB/s")
			b.ReportMetric(plain.Seconds()/ds.Seconds(), "ratio")
		})
	}
}

// seqWriteDS writes n MiB at the start of chunk with depth writes in
// flight, then syncs the chunk if synced, and returns how long it took.
func seqWriteDS(b *testing.B, c *Client, chunk uint64, n, depth int, synced bool, data []byte) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range depth {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := c.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Offset: int64(i) << 20, Data: data}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if synced {
		_, err := c.Sync(ctx, chunk)
		require.NoError(b, err)
	}
	return time.Since(start)
}

// seqWriteFile writes n MiB to a new file at path, fsyncs it if synced,
// and returns how long it took.
func seqWriteFile(b *testing.B, path string, n int, synced bool, data []byte) time.Duration {
	start := time.Now()
	f, err := os.Create(path)
	require.NoError(b, err)
	for range n {
		_, err := f.Write(data)
		require.NoError(b, err)
	}
	if synced {
		require.NoError(b, f.Sync())
	}
	require.NoError(b, f.Close())
	return time.Since(start)
}

// BenchmarkWriteAck4K measures the latency of 4 KiB writes over the unix
// socket, acknowledged from the journal ("nosync") or after the journal
// sync ("sync"), and reports p50 and p99.
func BenchmarkWriteAck4K(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "sync"
		}
		b.Run(name, func(b *testing.B) {
			ts := benchServer(b)
			data := randBytes(rand.New(rand.NewPCG(2, 2)), 4<<10)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			var version uint64
			b.ResetTimer()
			for i := range b.N {
				off := int64(i*4096) % (64 << 20)
				start := time.Now()
				resp, err := ts.client.Write(ctx, WriteReq{Chunk: 1, ExpectedVersion: version, Offset: off, Data: data, Sync: sync})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				version = resp.Version
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50_us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99_us")
		})
	}
}

// BenchmarkSyncedWriters runs b.N synced 4 KiB writes from one writer,
// and b.N spread over 16 concurrent writers (each on its own chunk), and
// reports both throughputs, their ratio and how many writes shared each
// journal fdatasync: group commit lets concurrent writers share them. The
// two take turns in four rounds each, so that both see the same machine.
func BenchmarkSyncedWriters(b *testing.B) {
	ts := benchServer(b)
	data := randBytes(rand.New(rand.NewPCG(3, 3)), 4<<10)
	ctx := context.Background()
	const rounds = 4
	run := func(writers, round int) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		total := b.N / rounds
		if round < b.N%rounds {
			total++
		}
		for w := range writers {
			n := total / writers
			if w < total%writers {
				n++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				chunk := uint64(100*writers + w)
				for i := range n {
					off := int64((round*b.N/rounds+i)*4096) % (64 << 20)
					if _, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Offset: off, Data: data, Sync: true}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	b.ResetTimer()
	var one, sixteen time.Duration
	var syncs uint64
	for round := range rounds {
		one += run(1, round)
		before := ts.e.j.Stats().SyncRounds
		sixteen += run(16, round)
		syncs += ts.e.j.Stats().SyncRounds - before
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/float64(syncs), "16w_ops/fdatasync")
	n := float64(b.N)
	b.ReportMetric(n/one.Seconds(), "1w_ops/s")
	b.ReportMetric(n/sixteen.Seconds(), "16w_ops/s")
	b.ReportMetric(one.Seconds()/sixteen.Seconds(), "ratio")
}

// BenchmarkNewChunk is the cost of a new small file on the embedded
// volume: GrantLease on a new chunk, then a 4 KiB write, in process
// (Local). It reports the journal's fdatasync rounds per new chunk: the
// grant's epoch record rides with the write and the applier's background
// sync, so this stays well below one.
func BenchmarkNewChunk(b *testing.B) {
	ts := startServer(b, shortDir(b), "bench", func(c *Config) { c.NoLeases = false })
	l := ts.Local()
	data := randBytes(rand.New(rand.NewPCG(4, 4)), 4<<10)
	ctx := context.Background()
	expiry := time.Now().Add(time.Hour).UnixNano()
	before := ts.e.j.Stats().SyncRounds
	b.ResetTimer()
	for i := range b.N {
		chunk := uint64(1 + i)
		if err := l.GrantLease(ctx, Lease{Chunk: chunk, Holder: "bench", Epoch: 1, Expiry: expiry}); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Write(ctx, WriteReq{Chunk: chunk, Offset: 0, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(ts.e.j.Stats().SyncRounds-before)/float64(b.N), "syncs/op")
}

// BenchmarkPatchAfterAppend measures the ack latency of a 4 KiB overwrite
// that follows a 1 MiB append to the same chunk, no sync asked (a file
// written front to back and patched, as tar and databases do), and
// reports p50 and p99.
func BenchmarkPatchAfterAppend(b *testing.B) {
	ts := benchServer(b)
	r := rand.New(rand.NewPCG(4, 4))
	big, small := randBytes(r, 1<<20), randBytes(r, 4<<10)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	var version uint64
	chunk := uint64(1)
	b.ResetTimer()
	for i := range b.N {
		off := int64(i%32) << 20
		if off == 0 && i > 0 {
			chunk, version = chunk+1, 0
		}
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: version, Offset: off, Data: big})
		require.NoError(b, err)
		start := time.Now()
		resp, err = ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: resp.Version, Offset: off + 8192, Data: small})
		lat = append(lat, time.Since(start))
		require.NoError(b, err)
		version = resp.Version
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50_us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99_us")
}
