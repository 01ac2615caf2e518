package geosim

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// linkSample is the bytes a link had carried at a time.
type linkSample struct {
	at    time.Time
	bytes int64
}

// sampleLink records the link from → to every 50 ms until stop is called,
// which returns the samples.
func (g *geo) sampleLink(from, to *Site) (stop func() []linkSample) {
	var mu sync.Mutex
	var samples []linkSample
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			mu.Lock()
			samples = append(samples, linkSample{time.Now(), g.LinkStats(from, to).Bytes})
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() []linkSample {
		close(done)
		<-finished
		return samples
	}
}

// middleRate is the rate in bits/s at which the samples went from lo to
// hi of the bytes they gained in all (0.1 and 0.9: the steady part of a
// transfer, past slow start and before its tail).
func middleRate(s []linkSample, lo, hi float64) float64 {
	if len(s) < 2 {
		return 0
	}
	base, total := s[0].bytes, s[len(s)-1].bytes-s[0].bytes
	var a, b *linkSample
	for i := range s {
		got := float64(s[i].bytes - base)
		if a == nil && got >= lo*float64(total) {
			a = &s[i]
		}
		if b == nil && got >= hi*float64(total) {
			b = &s[i]
		}
	}
	if a == nil || b == nil || !b.at.After(a.at) {
		return 0
	}
	return float64(b.bytes-a.bytes) * 8 / b.at.Sub(a.at).Seconds()
}

// wholeRate is the rate in bits/s from the first sample that gained bytes
// to the last one that did.
func wholeRate(s []linkSample) float64 {
	first, last := -1, -1
	for i := 1; i < len(s); i++ {
		if s[i].bytes > s[i-1].bytes {
			if first < 0 {
				first = i - 1
			}
			last = i
		}
	}
	if first < 0 {
		return 0
	}
	return float64(s[last].bytes-s[first].bytes) * 8 / s[last].at.Sub(s[first].at).Seconds()
}

// peakRate is the highest rate in bits/s over any window of length w.
func peakRate(s []linkSample, w time.Duration) float64 {
	best, j := 0.0, 0
	for i := range s {
		for j < i && s[i].at.Sub(s[j].at) > w {
			j++
		}
		if d := s[i].at.Sub(s[j].at); d >= w/2 {
			best = max(best, float64(s[i].bytes-s[j].bytes)*8/d.Seconds())
		}
	}
	return best
}

// replicationThroughput is scenario 2: how fast a local_only write's
// remote copies converge, against the link and against a plain TCP stream
// over the same link in the same run.
func replicationThroughput(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1"}})
	if err != nil {
		return err
	}
	defer g.Close()
	perth, london := g.Sites[0], g.Sites[1]
	env.Logf("plain TCP perth → london, 15 s")
	tcp, err := g.Throughput(ctx, perth.Hosts[0], london.Hosts[0], 5*time.Second, 15*time.Second)
	if err != nil {
		return err
	}
	r.Add("plain TCP stream", "%.0f Mbit/s (after 5 s of slow start)", tcp/1e6)

	dir := filepath.Join(g.Mnt["perth-1"], "local")
	if err := setPolicy(dir, policyLocalOnly); err != nil {
		return err
	}
	size := env.Scale.WriteBytes
	env.Logf("local_only: %s in perth, then until london and nyc are current", mib(size))
	before, cpu := g.LinkStats(perth, london), startCPU()
	stop := g.sampleLink(perth, london)
	start := time.Now()
	file := filepath.Join(dir, "big")
	if _, err := writeFile(file, size, 3); err != nil {
		stop()
		return g.fail("%v", err)
	}
	_, err = g.waitCurrent(ctx, file, 3, 10*time.Minute)
	samples := stop()
	if err != nil {
		return g.fail("%v", err)
	}
	took := time.Since(start)
	carried := samples[len(samples)-1].bytes - samples[0].bytes
	if carried < size {
		return fmt.Errorf("london is current but the link carried %d bytes of a %d-byte file", carried, size)
	}
	steady := middleRate(samples, 0.1, 0.9)
	r.Add("copies current", "%v after the write began: %.0f Mbit/s per remote site overall", took.Round(time.Millisecond), mbps(size, took))
	r.Add("link perth → london", "%s carried; %.0f Mbit/s from 10 %% to 90 %% of it", mib(carried), steady/1e6)
	st := g.LinkStats(perth, london)
	r.Add("machine CPU in use", "%.0f %% (every host, the router and the mount share this machine's cores)", 100*cpu.busy())
	r.Add("link drops", "%d queue, %d loss while replicating", st.QueueDrops-before.QueueDrops, st.LossDrops-before.LossDrops)
	link := float64(WAN.Rate)
	r.Hold(steady >= 0.9*link, "replication at %.2f× the link rate (≥ 0.9×; plain TCP: %.2f×)", steady/link, tcp/link)
	return nil
}
