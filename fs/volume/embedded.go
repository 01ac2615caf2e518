package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/fs"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/kv"
)

// Config describes a volume to mount.
type Config struct {
	// DataDir holds an embedded volume: meta/ (KV engine), data/
	// (dataserver) and the sockets.
	DataDir string
	// MountPoint is where the volume appears.
	MountPoint string
	// FS tunes the client.
	FS fs.Options
	// Capacity is what statfs reports as the volume's size; 0 means the
	// size of the file system holding DataDir.
	Capacity uint64
}

// Volume is a mounted volume and everything that serves it.
type Volume struct {
	cfg     Config
	meta    *ms.Service  // the in-process metaservice of an embedded volume
	pool    *dspool.Pool // how it reaches dataservers: its own in process
	server  *fuse.Server
	client  *fs.FS
	closers []func(context.Context) error // run in reverse order after unmount
}

// Collectors returns the client's metrics (its metadata cache), and those
// of an embedded volume's in-process metaservice (its KV transactions
// among them); a volume that reaches a remote metaservice has its calls
// counted by the mount itself (lis_mount_*).
func (v *Volume) Collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	if v.client != nil {
		cs = v.client.Collectors()
	}
	if v.meta != nil {
		cs = append(cs, v.meta.Collectors()...)
	}
	return cs
}

// MetaSocket is the metaservice's socket address of an embedded volume.
func MetaSocket(dataDir string) string { return "unix:" + filepath.Join(dataDir, "meta.sock") }

// DataSocket is the dataserver's socket address of an embedded volume.
func DataSocket(dataDir string) string { return "unix:" + filepath.Join(dataDir, "data.sock") }

// MountEmbedded starts the embedded stack under cfg.DataDir and mounts it.
func MountEmbedded(ctx context.Context, cfg Config) (_ *Volume, err error) {
	v := &Volume{cfg: cfg}
	defer func() {
		if err != nil {
			v.close(context.Background())
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	meta, err := v.startMeta(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := v.startData(ctx, meta)
	if err != nil {
		return nil, err
	}
	if err := reclaimLeftovers(ctx, meta, ds); err != nil {
		return nil, err
	}
	v.meta = meta
	data := fs.NewDataClient(ds, dataserverID)
	if cfg.FS.FsName == "" {
		cfg.FS.FsName = "lis:" + cfg.DataDir
	}
	if err := v.mount(meta, data, cfg.FS); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Volume) startMeta(ctx context.Context) (*ms.Service, error) {
	dir := filepath.Join(v.cfg.DataDir, "meta")
	engine, err := kv.Open(ctx, "embedded:"+dir)
	if err != nil {
		return nil, fmt.Errorf("volume at %s (already mounted?): %w", v.cfg.DataDir, err)
	}
	v.closers = append(v.closers, func(context.Context) error { return engine.Close() })
	capacity := v.cfg.Capacity
	if capacity == 0 {
		capacity = diskSize(v.cfg.DataDir)
	}
	v.pool = dspool.New()
	v.closers = append(v.closers, func(context.Context) error { return v.pool.Close() })
	svc, err := ms.Open(ctx, engine, ms.Options{Capacity: capacity, Dataservers: v.pool})
	if err != nil {
		return nil, fmt.Errorf("open metaservice: %w", err)
	}
	v.closers = append(v.closers, func(context.Context) error { return svc.Close() })
	if err := v.serveMeta(ctx, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// dataserverID names the embedded volume's dataserver in chunk records.
const dataserverID = "local"

// startData starts the volume's dataserver and registers it with meta,
// as a cluster's dataservers register with theirs.
func (v *Volume) startData(ctx context.Context, meta *ms.Service) (*dataserver.Local, error) {
	sock := DataSocket(v.cfg.DataDir)
	ds, err := dataserver.New(dataserver.Config{Dir: filepath.Join(v.cfg.DataDir, "data"), ID: dataserverID,
		// Acknowledged writes wait in memory until durable and applied;
		// the mount's whole footprint should stay in a few hundred MiB.
		PendingLimit: 64 << 20,
		// Its metaservice calls it in process; nothing else may make
		// its admin calls.
		AdminToken: dataserver.NewAdminToken(),
		Unix:       sock[len("unix:"):]})
	if err != nil {
		return nil, fmt.Errorf("start dataserver: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ds.Serve(sctx) }()
	v.closers = append(v.closers, func(context.Context) error {
		cancel()
		return errors.Join(<-done, ds.Close())
	})
	v.pool.AddLocal(sock, ds.Local())
	if err := ds.Announce(sctx, meta, sock, dataserver.DefaultHeartbeat); err != nil {
		return nil, err
	}
	// The socket serves other clients of the volume; this one calls the
	// dataserver in process, sparing its data the RPC's copies.
	return ds.Local(), nil
}

func (v *Volume) mount(meta fs.Meta, data fs.Data, opts fs.Options) error {
	if opts.Session.MountPoint == "" { // what lis status shows of this client
		opts.Session.MountPoint = v.cfg.MountPoint
	}
	client, err := fs.New(meta, data, opts)
	if err != nil {
		return err
	}
	v.client = client
	v.closers = append(v.closers, client.Close)
	srv, err := client.Mount(v.cfg.MountPoint)
	if err != nil {
		return err
	}
	v.server = srv
	return nil
}

// Wait blocks until the volume is unmounted (by Unmount, `lis umount` or
// umount(8)).
func (v *Volume) Wait() { v.server.Wait() }

// ErrBusy is returned by Unmount when processes still use the mount; the
// volume then stays mounted and served.
var ErrBusy = errors.New("mount point is busy")

// Unmount unmounts the volume if it is still mounted, then commits every
// written file, ends the session and stops the daemons. A busy mount is
// retried for a few seconds, then left mounted (ErrBusy).
func (v *Volume) Unmount(ctx context.Context) error {
	if v.server != nil {
		var err error
		for i := 0; i < 30; i++ {
			if err = v.unmountKernel(); !isBusy(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if isBusy(err) {
			return fmt.Errorf("unmount %s: %w", v.cfg.MountPoint, ErrBusy)
		}
		// Any other error means it was unmounted already (umount(8)):
		// the server loop ends either way.
		v.server.Wait()
	}
	return v.close(ctx)
}

func (v *Volume) close(ctx context.Context) error {
	var errs []error
	for i := len(v.closers) - 1; i >= 0; i-- {
		errs = append(errs, v.closers[i](ctx))
	}
	v.closers = nil
	return errors.Join(errs...)
}

// reclaimLeftovers gives back, before any client, the space a crash left
// held: chunks no file holds any more (metaservice.ReconcileChunks), which
// the metaservice then deletes from the dataserver.
func reclaimLeftovers(ctx context.Context, meta *ms.Service, ds *dataserver.Local) error {
	n, err := meta.ReconcileChunks(ctx, dataserverID, ds.ChunkIDs())
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	slog.Info("lis: reclaiming chunks that no file holds (left by a crash)", "chunks", n)
	return meta.ReclaimChunks(ctx)
}
