package geosim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// limitMbps is the replication limit scenario 4 sets on perth.
const limitMbps = 100

// bandwidthLimit is scenario 4: perth's replication limited to 100 Mbit/s
// shows as such on the link; inside priority hours it is lifted.
func bandwidthLimit(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:2], mountOn: []string{"perth-1"},
		dsArgs: func(h *Host) []string { return []string{"--replication-limit", fmt.Sprintf("%dmbps", limitMbps)} }})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "limited")
	if err := setPolicy(dir, "write_ack: local_only\nreplication: async_priority\ntarget_copies: 2\n"); err != nil {
		return err
	}
	env.Logf("%s replicated under a %d Mbit/s limit", mib(env.Scale.LimitBytes), limitMbps)
	limited, _, err := g.replicationRate(ctx, filepath.Join(dir, "a"))
	if err != nil {
		return err
	}
	perth := g.DS["perth-1"]
	if err := perth.Proc.Stop(30 * time.Second); err != nil {
		return g.fail("stop perth-1: %v", err)
	}
	now := time.Now()
	window := now.Add(-time.Minute).Format("15:04") + "-" + now.Add(time.Hour).Format("15:04")
	perth.args = append(perth.args, "--priority-hours", window)
	if err := g.Restart(ctx, perth, g.Meta); err != nil {
		return err
	}
	// The mount dials its dataserver again within a second (ENOTCONN until then).
	probe := filepath.Join(dir, "probe")
	if err := waitFor(ctx, 30*time.Second, "the mount writing again after its dataserver restarted", func() bool {
		return os.WriteFile(probe, []byte("x"), 0o644) == nil
	}); err != nil {
		return g.fail("%v", err)
	}
	env.Logf("again inside priority hours %s", window)
	_, lifted, err := g.replicationRate(ctx, filepath.Join(dir, "b"))
	if err != nil {
		return err
	}
	limit := float64(limitMbps) * 1e6
	r.Add("limit", "%d Mbit/s on perth-1's replication", limitMbps)
	r.Add("on the link", "%.1f Mbit/s over the transfer (%.2f× the limit, packet headers included)",
		limited/1e6, limited/limit)
	r.Add("inside priority hours", "%.0f Mbit/s from 10 %% to 90 %% of the transfer (%.2f× the link rate)", lifted/1e6, lifted/float64(WAN.Rate))
	if limited > 1.1*limit {
		return g.fail("replication ran at %.1f Mbit/s on the link under a %d Mbit/s limit", limited/1e6, limitMbps)
	}
	r.Hold(limited >= 0.9*limit, "the link used to %.2f× the limit (≥ 0.9×: short runs spend a larger part in TCP's start)", limited/limit)
	if lifted < 2*limit {
		return g.fail("inside priority hours replication ran at %.1f Mbit/s: the limit was not lifted", lifted/1e6)
	}
	r.Hold(lifted >= 0.9*float64(WAN.Rate), "inside priority hours at %.2f× the link rate (≥ 0.9×)", lifted/float64(WAN.Rate))
	return nil
}

// replicationRate writes the scale's LimitBytes to path in perth, waits
// until london's copy is current and returns the rate on the link perth →
// london over the whole transfer and over its middle (10 % to 90 % of the
// bytes: what an unlimited transfer reaches once TCP has opened up).
//
// The whole transfer, not its middle: a limiter in the sender counts
// bytes as they enter the connection, and while TCP opens its window on a
// 250 ms path (about two seconds) they wait in buffers, then cross as a
// burst; that burst is bounded (the sender narrows its window under a
// limit), and it evens out over the transfer, not over any part of it.
func (g *geo) replicationRate(ctx context.Context, path string) (whole, middle float64, err error) {
	perth, london := g.Sites[0], g.Sites[1]
	stop := g.sampleLink(perth, london)
	if _, err := writeFile(path, g.env.Scale.LimitBytes, 4); err != nil {
		stop()
		return 0, 0, g.fail("%v", err)
	}
	_, err = g.waitCurrent(ctx, path, 2, 10*time.Minute)
	samples := stop()
	if err != nil {
		return 0, 0, g.fail("%v", err)
	}
	return wholeRate(samples), middleRate(samples, 0.1, 0.9), nil
}
