package pjdfstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/lis-fs/lis/fs"
	"github.com/lis-fs/lis/fs/volume"
)

// roVolume is a second Lis volume, mounted read-only (`-o ro`) the first
// time an EROFS case needs it and unmounted by tearDownSuite.
var roVolume struct {
	once sync.Once
	dir  string
	vol  *volume.Volume
	err  error
}

// readOnlyFixture is what the read-only volume holds, made while it was
// still writable.
var readOnlyFixture = []string{
	"create f 0644",
	"mkdir d 0755",
	"create d/f 0644",
	"symlink f s",
	"mkfifo p 0644",
}

// readOnlyEnv returns an env rooted at the read-only volume.
func readOnlyEnv(t *testing.T) *env {
	t.Helper()
	needLis(t, "EROFS cases need a read-only Lis mount")
	roVolume.once.Do(func() { roVolume.dir, roVolume.vol, roVolume.err = mountReadOnly() })
	require.NoError(t, roVolume.err, "mount the read-only volume")
	return envAt(t, roVolume.dir)
}

// mountReadOnly makes a volume, fills it with readOnlyFixture, and mounts
// it again read-only.
func mountReadOnly() (string, *volume.Volume, error) {
	ctx := context.Background()
	data, mnt := filepath.Join(suite.tmp, "ro-data"), filepath.Join(suite.tmp, "ro-mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return "", nil, err
	}
	cfg := volume.Config{DataDir: data, MountPoint: mnt}
	v, err := volume.MountEmbedded(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	if err := fillFixture(mnt); err != nil {
		v.Unmount(ctx)
		return "", nil, err
	}
	if err := v.Unmount(ctx); err != nil {
		return "", nil, err
	}
	cfg.FS = fs.Options{ReadOnly: true, AllowOther: true}
	v, err = volume.MountEmbedded(ctx, cfg)
	return mnt, v, err
}

func fillFixture(dir string) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd) // before the unmount, which a held descriptor would block
	in := &interp{dir: fd}
	for _, text := range readOnlyFixture {
		l, err := parseLine(text)
		if err != nil {
			return err
		}
		if errno := in.runLine(l); errno != 0 {
			return fmt.Errorf("%s: %w", text, errno)
		}
	}
	return nil
}

func unmountReadOnly() {
	if roVolume.vol != nil {
		roVolume.vol.Unmount(context.Background())
	}
}
