package dataserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// BenchmarkScrubCost measures what the scrubber costs foreground reads:
// two dataservers hold the same 128 MiB (four 32 MiB chunks), one
// scrubbing at the rate named, the other not, and b.N random 64 KiB reads
// go to each, in turns of 256, so that both see the same machine. It
// reports both read rates and their ratio (scrubbing / not).
func BenchmarkScrubCost(b *testing.B) {
	for _, rate := range []int64{8 << 20, 200 << 20} {
		b.Run(fmt.Sprintf("scrub-%dMB/s", rate>>20), func(b *testing.B) {
			quiet := startServer(b, shortDir(b), "quiet", nil)
			scrubbing := startServer(b, shortDir(b), "scrub", func(c *Config) { c.ScrubRate = rate })
			fillForReads(b, quiet.client, scrubbing.client)
			require.Eventually(b, func() bool { return counterValue(b, scrubbing.e.m.scrubBytes) > 0 },
				10*time.Second, 10*time.Millisecond, "the scrubber never started")
			before := counterValue(b, scrubbing.e.m.scrubBytes)
			b.SetBytes(64 << 10)
			var withScrub, without time.Duration
			b.ResetTimer()
			for turn, left := 0, b.N; left > 0; turn++ {
				n := min(left, 256)
				left -= n
				if turn%2 == 0 {
					without += randomReads(b, quiet.client, n, uint64(turn))
					withScrub += randomReads(b, scrubbing.client, n, uint64(turn))
				} else {
					withScrub += randomReads(b, scrubbing.client, n, uint64(turn))
					without += randomReads(b, quiet.client, n, uint64(turn))
				}
			}
			b.StopTimer()
			mb := float64(b.N) / 16
			b.ReportMetric(mb/withScrub.Seconds(), "scrubbing_MB/s")
			b.ReportMetric(mb/without.Seconds(), "quiet_MB/s")
			b.ReportMetric(without.Seconds()/withScrub.Seconds(), "ratio")
			scrubbed := counterValue(b, scrubbing.e.m.scrubBytes) - before
			b.ReportMetric(scrubbed/(withScrub+without).Seconds()/(1<<20), "scrubbed_MB/s")
		})
	}
}

// fillForReads writes the same four 32 MiB chunks (1..4) to each client's
// dataserver and syncs them.
func fillForReads(b testing.TB, clients ...*Client) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(4, 4))
	for chunk := uint64(1); chunk <= 4; chunk++ {
		for off := int64(0); off < 32<<20; off += 1 << 20 {
			data := randBytes(r, 1<<20)
			for _, c := range clients {
				info, err := c.ChunkInfo(ctx, chunk)
				version := uint64(0)
				if err == nil {
					version = info.Version
				}
				_, err = c.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: version, Offset: off, Data: data})
				require.NoError(b, err)
			}
		}
		for _, c := range clients {
			_, err := c.Sync(ctx, chunk)
			require.NoError(b, err)
		}
	}
}

// randomReads makes n random 64 KiB reads (seeded by seed) and returns
// how long they took.
func randomReads(b *testing.B, c *Client, n int, seed uint64) time.Duration {
	r := rand.New(rand.NewPCG(seed, 7))
	start := time.Now()
	for range n {
		chunk, off := 1+r.Uint64N(4), r.Int64N(512)<<16
		if _, err := c.Read(context.Background(), chunk, off, 64<<10); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// counterValue reads a Prometheus counter.
func counterValue(b testing.TB, c prometheus.Counter) float64 {
	var m dto.Metric
	require.NoError(b, c.Write(&m))
	return m.GetCounter().GetValue()
}
