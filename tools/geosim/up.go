package geosim

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Up builds the three default sites with hosts hosts each, runs Lis in
// them (the metaservice on perth-1, a dataserver and a mount on every
// host), prints where everything is, and keeps it all until ctx ends.
func Up(ctx context.Context, env Env, hosts int, out io.Writer) error {
	var names []string
	for _, s := range DefaultSites(hosts) {
		for n := 1; n <= hosts; n++ {
			names = append(names, fmt.Sprintf("%s-%d", s.Name, n))
		}
	}
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(hosts), mountOn: names})
	if err != nil {
		return err
	}
	defer g.Close()
	fmt.Fprintf(out, "geosim: %d sites %v apart (%d Mbit/s links), state in %s\n", len(g.Sites), 2*WAN.Delay, WAN.Rate/1e6, g.Dir)
	fmt.Fprintf(out, "metaservice  %s on %s (unix:%s)\n", g.Meta.Addr, g.Meta.Host.Name, g.Meta.Sock)
	for _, name := range names {
		d := g.DS[name]
		fmt.Fprintf(out, "%-10s  netns %-24s dataserver %s  mount %s\n", name, d.Host.NS, d.Addr, g.Mnt[name])
	}
	fmt.Fprintln(out, "run a command on a host with: nsenter --net=/run/netns/NETNS COMMAND; Ctrl-C tears it all down")
	<-ctx.Done()
	return nil
}

// Check runs the router check between two sites: the round trip (median
// of 10 UDP echoes) and a TCP stream's rate after its slow start.
func Check(ctx context.Context, env Env, out io.Writer) error {
	w, err := Build(ctx, Spec{Sites: DefaultSites(1)[:2], Link: WAN, MTU: env.MTU, Lis: env.Lis})
	if err != nil {
		return err
	}
	defer w.Close()
	a, b := w.Sites[0].Hosts[0], w.Sites[1].Hosts[0]
	rtts, err := w.Ping(ctx, a, b, 10)
	if err != nil {
		return err
	}
	med := Median(rtts)
	fmt.Fprintf(out, "round trip %s → %s: %v (configured %v, %+.2f %%)\n", a.Name, b.Name, med.Round(10*time.Microsecond),
		2*WAN.Delay, 100*(float64(med)/float64(2*WAN.Delay)-1))
	bps, err := w.Throughput(ctx, a, b, 5*time.Second, 15*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "TCP %s → %s: %.0f Mbit/s (configured %d, %.2f×) at MTU %d\n", a.Name, b.Name, bps/1e6, WAN.Rate/1e6, bps/float64(WAN.Rate), w.Spec.MTU)
	return nil
}
