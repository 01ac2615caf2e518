package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// metaserviceFlags are the flags of `lis metaservice`.
type metaserviceFlags struct {
	url       string
	listen    string
	unix      string
	insecure  bool
	metrics   string
	tlsDir    string
	liveness  registry.Timeouts
	lostAfter time.Duration
}

func init() {
	var fl metaserviceFlags
	cmd := &cobra.Command{
		Use:   "metaservice --meta-url URL [--listen ADDR] [--unix PATH]",
		Short: "Run the metadata service",
		Long: `Run the metaservice: the namespace, chunk records, sessions, locks and
policies of a volume, served to clients and dataservers over msgpack RPC.

The metadata store is chosen by --meta-url:
  embedded:DIR                      embedded engine in directory DIR (one machine)
  memory:                           in-memory engine (tests; nothing is kept)
  tikv://PD1:2379,PD2:2379/VOLUME   volume VOLUME on a TiKV cluster

It serves on a TCP address (--listen HOST:PORT), a unix socket (--unix
PATH), or both. With --tls-dir (a node directory made by lis ca issue
with --role metaservice) --listen serves mutual TLS only, its calls to
dataservers use it, and it takes a dataserver's heartbeats over TLS only
from that dataserver's certificate; the unix socket stays plaintext.
Without TLS the transport is plaintext, so --listen must be a loopback
address unless --insecure is given. It stops on SIGINT or SIGTERM,
letting calls in flight finish.`,
		Example: `  lis metaservice --meta-url embedded:/var/lib/lis/meta --listen 127.0.0.1:7300
  lis metaservice --meta-url tikv://pd1:2379,pd2:2379/vol1 --unix /run/lis/meta.sock --listen 10.0.0.5:7300 --tls-dir /etc/lis/tls`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMetaservice(cmd.Context(), fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.url, "meta-url", "", "metadata store: embedded:DIR, memory: or tikv://PD:2379,.../VOLUME")
	f.StringVar(&fl.listen, "listen", "", "TCP address to serve on (HOST:PORT)")
	f.StringVar(&fl.unix, "unix", "", "unix socket to serve on")
	f.BoolVar(&fl.insecure, "insecure", false, "allow plaintext RPC on a non-loopback --listen address")
	f.StringVar(&fl.tlsDir, "tls-dir", "", "node directory made by lis ca issue (--role metaservice): mutual TLS on --listen and to dataservers")
	f.StringVar(&fl.metrics, "metrics", "", "serve Prometheus metrics on this HOST:PORT at /metrics")
	f.DurationVar(&fl.liveness.Suspect, "suspect-after", 10*time.Second, "a dataserver silent this long is suspect: no new copies go to it")
	f.DurationVar(&fl.liveness.Down, "down-after", time.Minute, "a dataserver silent this long is down: its copies stop counting, and its ID is free")
	f.DurationVar(&fl.lostAfter, "rereplicate-after", 10*time.Minute, "a dataserver silent this long is lost: its copies are made again on others, and its chunks' primaries fail over (at least --down-after)")
	cmd.MarkFlagRequired("meta-url")
	rootCmd.AddCommand(cmd)
}

func (fl metaserviceFlags) addrs() ([]string, error) {
	var addrs []string
	if fl.listen != "" {
		if !rpc.IsLocalAddr(fl.listen) && !fl.insecure && fl.tlsDir == "" {
			return nil, notLocalError(fl.listen)
		}
		addrs = append(addrs, fl.listen)
	}
	if fl.unix != "" {
		addrs = append(addrs, "unix:"+fl.unix)
	}
	if len(addrs) == 0 {
		return nil, errors.New("nothing to serve on: give --listen, --unix or both")
	}
	return addrs, nil
}

func runMetaservice(ctx context.Context, fl metaserviceFlags) (err error) {
	addrs, err := fl.addrs()
	if err != nil {
		return err
	}
	id, err := loadTLS(fl.tlsDir, clustertls.RoleMetaservice)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	engine, err := kv.Open(ctx, fl.url)
	if err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	defer func() {
		if cerr := engine.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close metadata store: %w", cerr)
		}
	}()
	svc, err := metaservice.Open(ctx, engine, metaservice.Options{Logger: log, Liveness: fl.liveness, RereplicateAfter: fl.lostAfter, DataserverCreds: clientCreds(id)})
	if err != nil {
		return fmt.Errorf("start metaservice: %w", err)
	}
	defer func() {
		if cerr := svc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("stop metaservice: %w", cerr)
		}
	}()
	opts := rpc.Options{Logger: log}
	if id != nil {
		opts.Creds = id.ServerCreds(log)
	}
	if fl.metrics != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg.MustRegister(svc.Collectors()...)
		stopMetrics, err := serveMetrics(fl.metrics, reg, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
		opts.Registerer = reg
	}
	srv := rpc.NewServer(svc, opts)
	log.Info("metaservice starting", "store", fl.url, "addrs", addrs)
	if err := srv.ServeAddrs(ctx, addrs...); err != nil {
		return err
	}
	log.Info("metaservice stopped")
	return nil
}
