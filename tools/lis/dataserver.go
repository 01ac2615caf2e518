package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// dataserverFlags are the flags of `lis dataserver`.
type dataserverFlags struct {
	dir, listen, unix  string
	site, region, id   string
	capacity           int64
	journalLimit       int64
	noLeases, insecure bool
	metrics            string
	meta               string
	replLimit          string
	scrubRate          string
	replBurst          bool
	priorityHours      string
	lazyWindow         time.Duration
	lazyHighWater      int64
	advertise          string
	tlsDir             string
}

func init() {
	var fl dataserverFlags
	cmd := &cobra.Command{
		Use:   "dataserver --dir DIR --listen ADDR [--unix PATH] [--meta ADDR] [--site S --region R] [--id ID]",
		Short: "Run a dataserver: the local chunk store, its journal, and replication to peers",
		Long: `Run a dataserver: it keeps chunks under --dir (data files with a CRC32C per
64 KiB block, and a write-ahead journal), acknowledges writes from the
co-located client at local-disk latency, and ships every mutation in journal
order to the chunk's replica dataservers. Chunks under "replication: async_lazy"
are shipped in batches instead: when --lazy-window has passed since a chunk
first changed, during --priority-hours, once the changes held back for one
peer pass --lazy-high-water, or when a client's fsync waits for a copy.

The co-located FUSE client reaches it on --unix; peers (and remote clients)
on --listen HOST:PORT. With --meta it registers with the metaservice's
dataserver registry under --id, and heartbeats every 2 s (capacity, free
space, journal backlog, replication lag); it refuses to start if a live
dataserver at another address holds the same ID. It stops on SIGINT or
SIGTERM and leaves a clean checkpoint behind.

With --tls-dir (a node directory made by lis ca issue, with the dataserver
role, named as --id, which it defaults to) --listen serves mutual TLS only,
and its connections to peers and to a TCP --meta use it; TCP peers are then
authorized by their certificates: leases, replica lists and deletions only
from a metaservice, replication only from a dataserver. The unix socket
stays plaintext. Without TLS the transport is plaintext, so --listen must be
a loopback address unless --insecure is given.

With --meta, the calls that decide what it accepts (leases, replica lists,
deletions) are taken only from the metaservice: it keeps a token in
--dir/admin.token, gives it to the metaservice in its heartbeats, and
refuses those calls with EPERM without it.`,
		Example: `  lis dataserver --dir /var/lib/lis/ds --id perth-1 --site perth --region au \
      --listen 127.0.0.1:7301 --unix /run/lis/ds.sock --meta 127.0.0.1:7300
  lis dataserver --dir /srv/ds --id london-1 --site london --region eu --listen 127.0.0.1:7302 \
      --meta 127.0.0.1:7300 --replication-limit 100mbps --priority-hours 22:00-06:00
  lis dataserver --dir /srv/ds --tls-dir /etc/lis/tls --site nyc --region us \
      --listen 10.0.2.9:7301 --unix /run/lis/ds.sock --meta 10.0.0.5:7300`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDataserver(cmd.Context(), fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.dir, "dir", "", "directory of the chunk store and journal")
	f.StringVar(&fl.listen, "listen", "", "TCP address to serve peers on (HOST:PORT)")
	f.StringVar(&fl.unix, "unix", "", "unix socket to serve the co-located client on")
	f.StringVar(&fl.site, "site", "", "site this dataserver is in")
	f.StringVar(&fl.region, "region", "", "region this dataserver is in")
	f.StringVar(&fl.id, "id", "", "dataserver ID in leases and replica lists (default: host name)")
	f.Int64Var(&fl.capacity, "capacity", 0, "quota in bytes (0: the disk's size)")
	f.Int64Var(&fl.journalLimit, "journal-limit", 0, "journal size past which a lagging replica is dropped and later fully resynced (default 4 GiB)")
	f.BoolVar(&fl.noLeases, "no-leases", false, "accept writes without a write lease (single machine, no metaservice)")
	f.BoolVar(&fl.insecure, "insecure", false, "allow plaintext RPC on a non-loopback --listen address")
	f.StringVar(&fl.tlsDir, "tls-dir", "", "node directory made by lis ca issue: mutual TLS on --listen, to peers and to --meta")
	f.StringVar(&fl.metrics, "metrics", "", "serve Prometheus metrics on this HOST:PORT at /metrics")
	f.StringVar(&fl.meta, "meta", "", "metaservice address (unix:/path or host:port) to register and heartbeat with")
	f.StringVar(&fl.replLimit, "replication-limit", "unlimited", "cap on the replication traffic out of this dataserver, to all peers (100mbps, 12.5MB/s, ...)")
	f.StringVar(&fl.scrubRate, "scrub-rate", "8MB/s", "how fast the scrubber reads every block back to check its checksum (off: no scrubbing)")
	f.BoolVar(&fl.replBurst, "replication-burst", false, "let an idle link send a second's worth of replication at once")
	f.StringVar(&fl.priorityHours, "priority-hours", "", "daily window (local time, 22:00-06:00) in which the replication limit is lifted")
	f.StringVar(&fl.advertise, "advertise", "", "address peers and remote clients reach this dataserver at, as registered (default: the --listen address; for NAT or a proxy)")
	f.DurationVar(&fl.lazyWindow, "lazy-window", 30*time.Second, "how long an async_lazy chunk's changes wait before they are shipped as one batch")
	f.Int64Var(&fl.lazyHighWater, "lazy-high-water", 256<<20, "bytes of async_lazy changes held back for one peer past which they are shipped at once")
	cmd.MarkFlagRequired("dir")
	rootCmd.AddCommand(cmd)
}

func runDataserver(ctx context.Context, fl dataserverFlags) error {
	if fl.listen == "" && fl.unix == "" {
		return errors.New("nothing to serve on: give --listen, --unix or both")
	}
	for _, l := range [][2]string{{"site", fl.site}, {"region", fl.region}} {
		if err := policy.CheckLocation(l[0], l[1]); l[1] != "" && err != nil {
			return fmt.Errorf("--%s: %w", l[0], err)
		}
	}
	id, err := fl.identity()
	if err != nil {
		return err
	}
	if fl.listen != "" && !rpc.IsLocalAddr(fl.listen) && !fl.insecure && id == nil {
		return notLocalError(fl.listen)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	cfg := dataserver.Config{
		Dir: fl.dir, ID: fl.id, Site: fl.site, Region: fl.region, Listen: fl.listen, Unix: fl.unix,
		Capacity: fl.capacity, JournalSizeLimit: fl.journalLimit, NoLeases: fl.noLeases,
		ReplicationBurst: fl.replBurst, LazyWindow: fl.lazyWindow, LazyHighWater: fl.lazyHighWater,
		Logger: log, Registerer: reg, TLS: id,
	}
	if fl.lazyWindow <= 0 || fl.lazyHighWater <= 0 {
		return fmt.Errorf("--lazy-window (%s) and --lazy-high-water (%d) must be positive", fl.lazyWindow, fl.lazyHighWater)
	}
	if err := fl.bandwidth(&cfg); err != nil {
		return err
	}
	if fl.scrubRate != "off" {
		rate, err := policy.ParseRate(fl.scrubRate)
		if err == nil && rate == 0 {
			err = errors.New("unlimited would leave no disk time to clients")
		}
		if err != nil {
			return fmt.Errorf("--scrub-rate: %w (a rate such as 8MB/s, or off)", err)
		}
		cfg.ScrubRate = rate
	}
	if fl.meta != "" {
		tok, err := dataserver.LoadAdminToken(fl.dir)
		if err != nil {
			return err
		}
		cfg.AdminToken = tok
	}
	srv, err := dataserver.New(cfg)
	if err != nil {
		return err
	}
	if fl.metrics != "" {
		stopMetrics, err := serveMetrics(fl.metrics, reg, log)
		if err != nil {
			srv.Close()
			return err
		}
		defer stopMetrics()
	}
	if fl.meta != "" {
		stopAnnounce, err := announce(ctx, srv, fl, id)
		if err != nil {
			srv.Close()
			return err
		}
		defer stopAnnounce()
	}
	log.Info("dataserver serving", "id", srv.ID(), "tcp", srv.Addr(), "unix", fl.unix, "tls", id != nil)
	if err := srv.Serve(ctx); err != nil {
		return err
	}
	log.Info("dataserver stopped")
	return nil
}

// bandwidth parses the replication limit and priority hours into cfg.
func (fl dataserverFlags) bandwidth(cfg *dataserver.Config) error {
	limit, err := policy.ParseRate(fl.replLimit)
	if err != nil {
		return fmt.Errorf("--replication-limit: %w", err)
	}
	cfg.ReplicationLimit = limit
	if fl.priorityHours != "" {
		h, err := policy.ParseHourRange(fl.priorityHours)
		if err != nil {
			return fmt.Errorf("--priority-hours: %w", err)
		}
		cfg.PriorityHours = &h
	}
	return nil
}

// identity loads --tls-dir, whose certificate must be this dataserver's:
// the metaservice takes heartbeats for an ID only from the certificate
// naming it. --id defaults to that name.
func (fl *dataserverFlags) identity() (*clustertls.Identity, error) {
	id, err := loadTLS(fl.tlsDir, clustertls.RoleDataserver)
	if err != nil || id == nil {
		return id, err
	}
	if fl.id == "" {
		fl.id = id.Name
	}
	if fl.id != id.Name {
		return nil, fmt.Errorf("--id %s, but the certificate in --tls-dir %s names %s: the metaservice would refuse its heartbeats",
			fl.id, fl.tlsDir, id.Name)
	}
	return id, nil
}

// announce registers srv with the metaservice at fl.meta and keeps it
// heartbeating until the returned function is called; id (nil: none)
// secures a TCP connection to it.
func announce(ctx context.Context, srv *dataserver.Server, fl dataserverFlags, id *clustertls.Identity) (func(), error) {
	meta, err := rpc.Dial(fl.meta, clientCreds(id))
	if err != nil {
		return nil, fmt.Errorf("metaservice %s: %w", fl.meta, err)
	}
	addr := srv.Addr()
	switch {
	case fl.advertise != "":
		addr = fl.advertise
	case addr == "":
		addr = "unix:" + fl.unix
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := srv.Announce(ctx, meta, addr, dataserver.DefaultHeartbeat); err != nil {
		cancel()
		meta.Close()
		return nil, err
	}
	return func() { cancel(); meta.Close() }, nil
}

// serveMetrics serves reg at http://addr/metrics until the returned stop
// function is called.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}, nil
}
