package fs

import (
	"fmt"
	"os"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// MaxWrite is the largest write the kernel sends in one request.
const MaxWrite = 1 << 20

// Mount mounts f at dir and serves it in the background. It returns once
// the kernel has the mount. As root it mounts directly; otherwise it uses
// fusermount3.
func (f *FS) Mount(dir string) (*fuse.Server, error) {
	opts := &fuse.MountOptions{
		FsName:               f.opts.FsName,
		Name:                 "lis",
		MaxWrite:             MaxWrite,
		MaxReadAhead:         MaxWrite,
		MaxBackground:        64,
		EnableLocks:          true,
		EnableAcl:            true,
		EnableSymlinkCaching: true,
		AllowOther:           f.opts.AllowOther,
		DirectMount:          os.Geteuid() == 0,
		Debug:                f.opts.Debug,
		Options:              []string{"default_permissions"},
	}
	if f.opts.ReadOnly {
		opts.Options = append(opts.Options, "ro")
	}
	// Lis clears setuid/setgid and capabilities itself (the metaservice
	// drops security.capability on every content change), so the kernel
	// need not ask for security.capability before every write(2): without
	// this, each write costs a GETXATTR round trip.
	opts.ExtraCapabilities |= fuse.CAP_HANDLE_KILLPRIV_V2
	// The metaservice applies the umask itself, and not at all under a
	// default ACL (POSIX.1e); the kernel must pass the mode unmasked.
	opts.ExtraCapabilities |= fuse.CAP_DONT_MASK
	if f.opts.WritebackCache {
		opts.ExtraCapabilities |= fuse.CAP_WRITEBACK_CACHE
	}
	srv, err := fuse.NewServer(f, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return srv, nil
}
