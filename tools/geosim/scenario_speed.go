package geosim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Policies the scenarios write, by the README's names.
const (
	policyLocalOnly  = "write_ack: local_only\nreplication: async_priority\ntarget_copies: 3\n"
	policyPlusOne    = "write_ack: local_plus_one\nreplication: async_priority\ntarget_copies: 3\n"
	policyGeoSync    = "write_ack: geographic\nreplication: sync\ntarget_copies: 1_per_region\n"
	policySingleCopy = "write_ack: local_only\nreplication: async_priority\ntarget_copies: 1\n"
)

// rtt is the round trip between any two sites of the default World.
const rtt = 2 * 125 * time.Millisecond

// singleSiteWrite measures the baseline: the big write on a one-site,
// one-host cluster, in the same run.
func singleSiteWrite(ctx context.Context, env Env) (writeTiming, error) {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:1], mountOn: []string{"perth-1"}})
	if err != nil {
		return writeTiming{}, err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "base")
	if err := setPolicy(dir, policySingleCopy); err != nil {
		return writeTiming{}, err
	}
	return writeFile(filepath.Join(dir, "big"), env.Scale.WriteBytes, 1)
}

// localSpeed is scenario 1: a big write in perth under three policies.
func localSpeed(ctx context.Context, env Env, r *Report) error {
	size := env.Scale.WriteBytes
	env.Logf("baseline: %s on a single-site cluster", mib(size))
	base, err := singleSiteWrite(ctx, env)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1"}, home: "perth"})
	if err != nil {
		return err
	}
	defer g.Close()
	mnt := g.Mnt["perth-1"]
	r.Add("other sites", "daemons at nice 19 with their data in /dev/shm: other machines, as far as one machine can")
	rate := func(n int64, t writeTiming) float64 { return mbps(n, t.write+t.fsync) }
	r.Add("single site", "%s in %v (%.0f Mbit/s), fsync %v", mib(size), base.write.Round(time.Millisecond), rate(size, base), base.fsync.Round(time.Millisecond))
	var local, sync writeTiming
	for _, c := range []struct {
		name, policy string
		size         int64
		t            *writeTiming
	}{
		{"local_only", policyLocalOnly, size, &local},
		{"local_plus_one", policyPlusOne, size, nil},
		{"geographic+sync", policyGeoSync, env.Scale.SyncBytes, &sync},
	} {
		env.Logf("%s: %s in perth", c.name, mib(c.size))
		dir := filepath.Join(mnt, c.name)
		if err := setPolicy(dir, c.policy); err != nil {
			return err
		}
		file := filepath.Join(dir, "big")
		t, err := writeFile(file, c.size, 2)
		if err != nil {
			return g.fail("%s: %v", c.name, err)
		}
		current, err := g.waitCurrent(ctx, file, 3, 10*time.Minute)
		if err != nil {
			return g.fail("%s: %v", c.name, err)
		}
		r.Add(c.name, "%s in %v (%.0f Mbit/s), fsync %v, all 3 copies current %v after fsync",
			mib(c.size), t.write.Round(time.Millisecond), rate(c.size, t), t.fsync.Round(time.Millisecond), current.Round(time.Millisecond))
		if c.t != nil {
			*c.t = t
		}
	}
	fsyncs, err := smallFsyncs(filepath.Join(mnt, "local_plus_one", "small"), 20)
	if err != nil {
		return g.fail("small fsyncs: %v", err)
	}
	med := Median(fsyncs)
	r.Add("local_plus_one fsync of 4 KiB", "median %v = %.2f round trips (of %v)", med.Round(time.Millisecond), float64(med)/float64(rtt), rtt)
	ratio, speedup := rate(size, local)/rate(size, base), rate(size, local)/rate(env.Scale.SyncBytes, sync)
	r.Hold(ratio >= 0.8, "local_only write at %.2f× the single-site write (≥ 0.8×)", ratio)
	r.Hold(speedup >= 50, "local_only write %.0f× faster than geographic+sync (≥ 50×)", speedup)
	r.Hold(float64(med) <= 1.5*float64(rtt), "local_plus_one fsync costs one round trip (%.2f)", float64(med)/float64(rtt))
	return nil
}

// smallFsyncs writes 4 KiB and fsyncs, n times, and returns the fsyncs' times.
func smallFsyncs(path string, n int) ([]time.Duration, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var out []time.Duration
	for i := range n {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			return out, err
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			return out, err
		}
		out = append(out, time.Since(start))
	}
	return out, f.Close()
}
