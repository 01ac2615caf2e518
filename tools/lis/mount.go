package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lis-fs/lis/fs/volume"
)

func init() {
	mc := &mountConfig{}
	var opts []string
	cmd := &cobra.Command{
		Use:   "mount [flags] [SOURCE] MOUNTPOINT",
		Short: "Mount a Lis volume (the embedded one-machine volume by default)",
		Long: `Mount a Lis volume at MOUNTPOINT and return once it is ready.

With no cluster flags this is the embedded default: the metaservice (on the
embedded KV engine), a dataserver and the FUSE client run in one daemon for a
local volume kept under --data-dir. With --meta and --dataserver it joins a
cluster instead; --tls-dir (a node directory made by lis ca issue) then
secures its TCP connections, to the metaservice and to other hosts'
dataservers, with the cluster's mutual TLS.

As a mount helper (mount -t fuse.lis SOURCE MOUNTPOINT -o OPTIONS, or an
/etc/fstab line; see lis install-mount-helper), SOURCE is the data directory
of an embedded volume, or any word for a cluster client given -o meta=,dataserver=.

The daemon logs to a file in /run/lis (for root; /tmp/lis-UID for
others), named in the line printed once mounted. A mount point whose daemon died (it answers "transport endpoint is
not connected") is unmounted lazily and mounted again.

Options (-o, comma-separated): ro, allow_other (the default when root
mounts; noallow_other turns it off), cache_timeout=SECONDS (how long the
kernel keeps names, absent names and attributes while the metaservice
pushes this mount other clients' changes; default 600, 0 for the short
timeouts only), attr_timeout=SECONDS, entry_timeout=SECONDS,
negative_timeout=SECONDS (the short timeouts, used while that stream of
changes is down; 0 disables a cache; default 1), ack_timeout=SECONDS (how long fsync and close wait for the copies
write_ack asks for; default 30), read_cache=MiB (data read from other hosts
kept for reading again; default 64, 0 for none), writeback_cache (off by
default: faster small writes, but the kernel then trusts its own file sizes
and misses other clients' writes, so use it only when this mount is the
volume's one client), meta=ADDR, dataserver=ADDR, tls_dir=DIR, data_dir=DIR,
fsname=NAME, debug.`,
		Example: `  lis mount /mnt/lis
  lis mount --data-dir /srv/lis -o allow_other /mnt/lis
  lis mount --meta unix:/var/lib/lis/meta.sock --dataserver unix:/var/lib/lis/data.sock /mnt/other
  mount -t fuse.lis /var/lib/lis /mnt/lis -o allow_other`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 && mc.dataDir == "" && mc.meta == "" {
				mc.dataDir = args[0]
			}
			for _, o := range opts {
				if err := parseMountOptions(o, mc); err != nil {
					return err
				}
			}
			return runMount(cmd.Context(), mc, args[len(args)-1])
		},
	}
	f := cmd.Flags()
	f.StringVar(&mc.dataDir, "data-dir", "", "data directory of the embedded volume (default "+defaultDataDir()+")")
	f.StringVar(&mc.meta, "meta", "", "metaservice address to join (unix:/path or host:port)")
	f.StringVar(&mc.dataserver, "dataserver", "", "co-located dataserver address, with --meta")
	f.StringVar(&mc.tlsDir, "tls-dir", "", "node directory made by lis ca issue: mutual TLS to a TCP --meta and to dataservers")
	f.BoolVarP(&mc.foreground, "foreground", "f", false, "stay attached instead of returning once mounted")
	f.StringVar(&mc.debugAddr, "debug-addr", "", "serve Prometheus metrics and pprof profiles on this loopback address")
	f.StringVar(&mc.debugAddr, "metrics", "", "the same as --debug-addr")
	f.StringArrayVarP(&opts, "options", "o", nil, "mount options, comma-separated (see above)")
	// mount(8) passes these to helpers; they mean nothing here.
	var fsType string
	var noMtab, sloppy, verbose bool
	f.StringVarP(&fsType, "type", "t", "", "filesystem type (from mount(8); ignored)")
	f.BoolVarP(&noMtab, "no-mtab", "n", false, "from mount(8); ignored")
	f.BoolVarP(&sloppy, "sloppy", "s", false, "from mount(8); ignored")
	f.BoolVarP(&verbose, "verbose", "v", false, "from mount(8); ignored")
	for _, name := range []string{"type", "no-mtab", "sloppy", "verbose"} {
		f.MarkHidden(name)
	}
	rootCmd.AddCommand(cmd)
}

func runMount(ctx context.Context, mc *mountConfig, mountPoint string) error {
	mnt, err := filepath.Abs(mountPoint)
	if err != nil {
		return err
	}
	if err := checkMountPoint(mnt, mountPoint); err != nil {
		return err
	}
	if mc.meta == "" && mc.dataDir == "" {
		mc.dataDir = defaultDataDir()
	}
	if mc.meta != "" && mc.dataserver == "" {
		return fmt.Errorf("--meta needs --dataserver (the co-located dataserver's address)")
	}
	if mc.tlsDir != "" && mc.meta == "" {
		return fmt.Errorf("--tls-dir is for a cluster client (--meta): the embedded volume serves only unix sockets")
	}
	if os.Geteuid() == 0 && !mc.noAllowOther {
		// As JuiceFS does: a root mount serves every user, and the kernel
		// still checks modes and ACLs (default_permissions).
		mc.fs.AllowOther = true
	}
	if mc.foreground {
		return serveMount(ctx, mc, mnt)
	}
	if err := daemonize(mc, mnt); err != nil {
		return err
	}
	if !asMountHelper {
		fmt.Printf("lis: mounted %s at %s (log: %s)\n", mc.volumeName(), mnt, runFile(mnt, "log"))
	}
	return nil
}

// serveMount mounts and serves until unmounted or told to stop.
func serveMount(ctx context.Context, mc *mountConfig, mnt string) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit keeps the garbage of 1 MiB write buffers from
		// doubling the daemon's footprint (GOGC alone lets the heap grow
		// to twice what is live).
		debug.SetMemoryLimit(daemonMemoryLimit)
	}
	if mc.debugAddr != "" {
		if err := serveDebug(mc.debugAddr); err != nil {
			notifyReady(err)
			return err
		}
	}
	v, err := mountVolume(ctx, mc, mnt)
	if err == nil && mc.debugAddr != "" {
		registerVolumeMetrics(v)
	}
	if err != nil {
		notifyReady(err)
		return err
	}
	removePid := writePidFile(mnt)
	defer removePid()
	notifyReady(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	unmounted := make(chan struct{})
	go func() { v.Wait(); close(unmounted) }()
	for {
		select {
		case <-sigs:
		case <-unmounted:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := v.Unmount(ctx)
		cancel()
		if !errors.Is(err, volume.ErrBusy) {
			return err
		}
		fmt.Fprintf(os.Stderr, "lis: %s is busy; still mounted\n", mnt)
	}
}

// daemonMemoryLimit is the mount daemon's soft Go memory limit.
const daemonMemoryLimit = 192 << 20

func mountVolume(ctx context.Context, mc *mountConfig, mnt string) (*volume.Volume, error) {
	opts := mc.fs
	// Off unless asked for: with the writeback cache the kernel trusts its
	// own file sizes, so it would miss other clients' writes (the embedded
	// volume serves other clients too, on its sockets).
	opts.WritebackCache = mc.writeback != nil && *mc.writeback
	if mc.meta != "" {
		id, err := loadTLS(mc.tlsDir, "")
		if err != nil {
			return nil, err
		}
		return volume.Join(ctx, volume.JoinConfig{Meta: mc.meta, Dataserver: mc.dataserver, MountPoint: mnt, FS: opts,
			Creds: clientCreds(id)})
	}
	return volume.MountEmbedded(ctx, volume.Config{DataDir: mc.dataDir, MountPoint: mnt, FS: opts})
}
