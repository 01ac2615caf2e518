package geosim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// namePrefix starts every namespace a World makes; the PID of the process
// that made it follows, so leftovers of a dead run are recognisable.
const namePrefix = "lisgeo-"

// stateRoot holds one directory per World, named by PID.
const stateRoot = "/run/lis/geosim"

// SiteSpec is one site: its name, its region and how many hosts it has.
type SiteSpec struct {
	Name, Region string
	Hosts        int
}

// Spec describes a World.
type Spec struct {
	Sites []SiteSpec
	Link  LinkParams // every direction between two sites
	MTU   int        // of every link; default DefaultMTU
	Lis   string     // the lis binary the hosts run
	// Home, if set, names the site being measured. The other sites stand
	// for other machines, which on this one they can only approximate:
	// their daemons run at nice 19 and keep their data in memory
	// (/dev/shm), so they take what the home site leaves of the CPU and
	// none of its disk.
	Home string
}

// awayRoot holds the data of hosts outside Spec.Home, one directory per
// World named by PID, like stateRoot.
const awayRoot = "/dev/shm/lisgeo"

// away says whether host h stands for another machine (see Spec.Home).
func (w *World) away(h *Host) bool { return w.Spec.Home != "" && h.Site.Name != w.Spec.Home }

// DefaultSites are the three sites of the README: 250 ms apart.
func DefaultSites(hosts int) []SiteSpec {
	return []SiteSpec{{"perth", "au", hosts}, {"london", "eu", hosts}, {"nyc", "us", hosts}}
}

// DefaultMTU is jumbo frames: a sixth of the packets of a 1,500-byte MTU
// for the router and every kernel hop to handle, which leaves the CPU of
// this 2-core machine to the daemons under test. TCP behaves as on any
// long fat pipe, with larger segments; Spec.MTU sets 1500 where that
// matters (the router check measures both).
const DefaultMTU = 9000

// WAN is the default link: 250 ms round trip, 1 Gbit/s each way.
var WAN = LinkParams{Delay: 125 * time.Millisecond, Rate: 1e9}

// Site is one site of a World: a gateway namespace and its hosts.
type Site struct {
	Name, Region string
	Index        int // from 0; the address's third byte is Index+1
	NS           string
	Hosts        []*Host
}

// Host is one machine of a site: its own network namespace, one address.
type Host struct {
	Site  *Site
	Name  string // SITE-N, also its dataserver's ID
	NS    string
	IP    string
	Index int // from 1
}

// World is a running set of sites, hosts and the router between them.
type World struct {
	Spec  Spec
	Dir   string // state: data directories, logs, mount points
	Sites []*Site
	// KeepLogs, if set, is a directory Close copies the daemons' logs to.
	KeepLogs string

	router *Router
	mu     sync.Mutex // guards procs, mounts and made
	procs  []*Proc
	mounts []string
	made   []string // namespaces, in creation order
}

// Build makes the namespaces, links and router of spec. On error,
// whatever it made is removed again.
func Build(ctx context.Context, spec Spec) (w *World, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("geosim needs root: it makes network namespaces and TUN devices")
	}
	if spec.MTU == 0 {
		spec.MTU = DefaultMTU
	}
	if len(spec.Sites) == 0 || len(spec.Sites) > 250 {
		return nil, fmt.Errorf("geosim: %d sites (want 1 to 250)", len(spec.Sites))
	}
	if err := CleanLeftovers(ctx); err != nil {
		return nil, err
	}
	id := strconv.Itoa(os.Getpid())
	w = &World{Spec: spec, Dir: filepath.Join(stateRoot, id)}
	defer func() {
		if err != nil {
			w.Close()
			w = nil
		}
	}()
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return w, fmt.Errorf("geosim state: %w", err)
	}
	ports, err := w.makeSites(ctx, id)
	if err != nil {
		return w, err
	}
	w.router = NewRouter(ports, spec.MTU, func(from, to int) LinkParams { return spec.Link })
	return w, nil
}

// makeSites makes every site's gateway and hosts and returns the
// gateways' TUN devices in site order.
func (w *World) makeSites(ctx context.Context, id string) ([]*os.File, error) {
	var ports []*os.File
	for i, ss := range w.Spec.Sites {
		if ss.Hosts < 1 || ss.Hosts > 250 {
			closeAll(ports)
			return nil, fmt.Errorf("site %s: %d hosts (want 1 to 250)", ss.Name, ss.Hosts)
		}
		s := &Site{Name: ss.Name, Region: ss.Region, Index: i, NS: namePrefix + id + "-" + ss.Name}
		w.Sites = append(w.Sites, s)
		tun, err := w.makeGateway(ctx, s)
		if err != nil {
			closeAll(ports)
			return nil, err
		}
		ports = append(ports, tun)
		for n := 1; n <= ss.Hosts; n++ {
			h := &Host{Site: s, Index: n, Name: fmt.Sprintf("%s-%d", s.Name, n), NS: fmt.Sprintf("%s-%d", s.NS, n),
				IP: fmt.Sprintf("10.77.%d.%d", i+1, n)}
			s.Hosts = append(s.Hosts, h)
			if err := w.makeHost(ctx, h); err != nil {
				closeAll(ports)
				return nil, err
			}
		}
	}
	return ports, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// addNetns makes namespace ns and remembers it for Close.
func (w *World) addNetns(ctx context.Context, ns string) error {
	if err := ip(ctx, "netns", "add", ns); err != nil {
		return err
	}
	w.mu.Lock()
	w.made = append(w.made, ns)
	w.mu.Unlock()
	if err := ip(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
		return err
	}
	return setSysctls(ns, map[string]string{
		"net.ipv6.conf.all.disable_ipv6":     "1",
		"net.ipv6.conf.default.disable_ipv6": "1",
		"net.ipv4.conf.all.rp_filter":        "0",
		"net.ipv4.conf.default.rp_filter":    "0",
	})
}

func setSysctls(ns string, kv map[string]string) error {
	for k, v := range kv {
		if err := sysctl(ns, k, v); err != nil {
			return err
		}
	}
	return nil
}

// makeGateway makes site s's gateway namespace: it forwards between its
// hosts' veths and the TUN device wan0 that leads to the router.
func (w *World) makeGateway(ctx context.Context, s *Site) (*os.File, error) {
	if err := w.addNetns(ctx, s.NS); err != nil {
		return nil, err
	}
	if err := sysctl(s.NS, "net.ipv4.ip_forward", "1"); err != nil {
		return nil, err
	}
	tun, err := openTUN(s.NS, "wan0")
	if err != nil {
		return nil, err
	}
	mtu := strconv.Itoa(w.Spec.MTU)
	for _, args := range [][]string{
		{"link", "set", "wan0", "mtu", mtu, "txqueuelen", "10000", "up"},
		{"route", "add", "10.77.0.0/16", "dev", "wan0"},
	} {
		if err := ip(ctx, append([]string{"-n", s.NS}, args...)...); err != nil {
			tun.Close()
			return nil, err
		}
	}
	return tun, nil
}

// makeHost makes host h's namespace and its veth to the site's gateway.
func (w *World) makeHost(ctx context.Context, h *Host) error {
	if err := w.addNetns(ctx, h.NS); err != nil {
		return err
	}
	big := "4096 131072 268435456" // let TCP autotune past a 250 ms × 1 Gbit/s pipe
	if err := setSysctls(h.NS, map[string]string{"net.ipv4.tcp_rmem": big, "net.ipv4.tcp_wmem": big}); err != nil {
		return err
	}
	gw, peer, mtu := fmt.Sprintf("10.77.%d.254", h.Site.Index+1), "h"+strconv.Itoa(h.Index), strconv.Itoa(w.Spec.MTU)
	for _, args := range [][]string{
		{"link", "add", "eth0", "netns", h.NS, "mtu", mtu, "type", "veth", "peer", "name", peer, "netns", h.Site.NS, "mtu", mtu},
		{"-n", h.NS, "addr", "add", h.IP + "/32", "dev", "eth0"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
		{"-n", h.NS, "route", "add", gw, "dev", "eth0", "scope", "link"},
		{"-n", h.NS, "route", "add", "10.77.0.0/16", "via", gw, "src", h.IP},
		{"-n", h.Site.NS, "addr", "add", gw + "/32", "dev", peer},
		{"-n", h.Site.NS, "link", "set", peer, "up"},
		{"-n", h.Site.NS, "route", "add", h.IP + "/32", "dev", peer},
	} {
		if err := ip(ctx, args...); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	return nil
}

// Site returns the site named name, or nil.
func (w *World) Site(name string) *Site {
	for _, s := range w.Sites {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Partition cuts every link between sites a and b (both ways) until Heal.
func (w *World) Partition(a, b *Site) { w.router.SetPartitioned(a.Index, b.Index, true) }

// Heal restores the links between sites a and b.
func (w *World) Heal(a, b *Site) { w.router.SetPartitioned(a.Index, b.Index, false) }

// Isolate cuts (or with cut false, restores) every link of site s.
func (w *World) Isolate(s *Site, cut bool) {
	for _, o := range w.Sites {
		if o != s {
			w.router.SetPartitioned(s.Index, o.Index, cut)
		}
	}
}

// SetLink changes the link from → to, from now on.
func (w *World) SetLink(from, to *Site, p LinkParams) { w.router.SetLink(from.Index, to.Index, p) }

// LinkStats returns what the link from → to has carried so far.
func (w *World) LinkStats(from, to *Site) LinkStats { return w.router.Stats(from.Index, to.Index) }
