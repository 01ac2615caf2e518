package volume

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/fs"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// JoinConfig describes a client of a cluster volume.
type JoinConfig struct {
	Meta       string // metaservice address: unix:/path or host:port
	Dataserver string // the co-located dataserver's address
	MountPoint string
	FS         fs.Options
	// Creds secure the TCP connections to the metaservice and to
	// dataservers (the cluster's TLS); nil: plaintext. Unix sockets are
	// plaintext either way.
	Creds credentials.TransportCredentials
}

// Join mounts a cluster volume: the client talks to a running metaservice
// and to its co-located dataserver over RPC.
func Join(ctx context.Context, cfg JoinConfig) (_ *Volume, err error) {
	v := &Volume{cfg: Config{MountPoint: cfg.MountPoint}}
	defer func() {
		if err != nil {
			v.close(context.Background())
		}
	}()
	meta, err := rpc.Dial(cfg.Meta, cfg.Creds)
	if err != nil {
		return nil, fmt.Errorf("metaservice %s: %w", cfg.Meta, err)
	}
	v.closers = append(v.closers, func(context.Context) error { return meta.Close() })
	dc, err := dataserver.DialCreds(cfg.Dataserver, cfg.Creds)
	if err != nil {
		return nil, fmt.Errorf("dataserver %s: %w", cfg.Dataserver, err)
	}
	v.closers = append(v.closers, func(context.Context) error { return dc.Close() })
	st, err := dc.Stat(ctx)
	if err != nil {
		return nil, fmt.Errorf("dataserver %s: %w", cfg.Dataserver, err)
	}
	if err := awaitRegistered(ctx, meta, st.ID, cfg); err != nil {
		return nil, err
	}
	if cfg.FS.DataserverCreds == nil {
		cfg.FS.DataserverCreds = cfg.Creds
	}
	if cfg.FS.FsName == "" {
		cfg.FS.FsName = "lis:" + cfg.Meta
	}
	if err := v.mount(meta, fs.NewDataClient(dc, st.ID), cfg.FS); err != nil {
		return nil, err
	}
	return v, nil
}

// registrationWait is how long a mount waits for its dataserver to appear
// in the registry: it registers within a heartbeat of its start.
const registrationWait = 10 * time.Second

// awaitRegistered waits until the metaservice's registry lists the
// dataserver id: the metaservice installs leases and finds copies by the
// registry, so a client of an unregistered dataserver could not write.
func awaitRegistered(ctx context.Context, meta *rpc.Client, id string, cfg JoinConfig) error {
	deadline := time.Now().Add(registrationWait)
	for {
		ds, err := meta.ListDataservers(ctx)
		if err != nil {
			return fmt.Errorf("metaservice %s: %w", cfg.Meta, err)
		}
		if slices.ContainsFunc(ds, func(d ms.DataserverStatus) bool { return d.ID == id }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dataserver %s (%s) is not registered with the metaservice at %s after %s: "+
				"start it with --meta %s", id, cfg.Dataserver, cfg.Meta, registrationWait, cfg.Meta)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
