package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// serveMeta serves the in-process metaservice on the volume's socket for
// administrative commands and further clients.
func (v *Volume) serveMeta(ctx context.Context, svc *ms.Service) error {
	l, err := msgrpc.Listen(MetaSocket(v.cfg.DataDir))
	if err != nil {
		return fmt.Errorf("serve the volume's metaservice: %w", err)
	}
	srv := rpc.NewServer(svc, rpc.Options{})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	v.closers = append(v.closers, func(context.Context) error {
		srv.Stop()
		return <-errc
	})
	return nil
}

// diskSize is the size of the file system holding dir, the default
// capacity of an embedded volume.
func diskSize(dir string) uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return st.Blocks * uint64(st.Bsize)
}

// isBusy recognises a busy unmount, from umount(2) or from fusermount3.
func isBusy(err error) bool {
	return err != nil && (errors.Is(err, syscall.EBUSY) || strings.Contains(err.Error(), "busy"))
}

// unmountKernel detaches the mount. As root it calls umount(2) itself:
// go-fuse would fall back to fusermount3 on EBUSY and hide the reason.
func (v *Volume) unmountKernel() error {
	if os.Geteuid() != 0 {
		return v.server.Unmount()
	}
	err := syscall.Unmount(v.cfg.MountPoint, 0)
	if errors.Is(err, syscall.EINVAL) {
		return nil // not mounted (any more)
	}
	return err
}
