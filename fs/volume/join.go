package volume

import (
	"context"
	"fmt"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/fs"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// JoinConfig describes a client of a cluster volume.
type JoinConfig struct {
	Meta       string // metaservice address: unix:/path or host:port
	Dataserver string // the co-located dataserver's address
	MountPoint string
	FS         fs.Options
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
	meta, err := rpc.Dial(cfg.Meta, nil)
	if err != nil {
		return nil, fmt.Errorf("metaservice %s: %w", cfg.Meta, err)
	}
	v.closers = append(v.closers, func(context.Context) error { return meta.Close() })
	dc, err := dataserver.Dial(cfg.Dataserver)
	if err != nil {
		return nil, fmt.Errorf("dataserver %s: %w", cfg.Dataserver, err)
	}
	v.closers = append(v.closers, func(context.Context) error { return dc.Close() })
	st, err := dc.Stat(ctx)
	if err != nil {
		return nil, fmt.Errorf("dataserver %s: %w", cfg.Dataserver, err)
	}
	if cfg.FS.FsName == "" {
		cfg.FS.FsName = "lis:" + cfg.Meta
	}
	if err := v.mount(meta, fs.NewDataClient(dc, st.ID), cfg.FS); err != nil {
		return nil, err
	}
	return v, nil
}
