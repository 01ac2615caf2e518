package pjdfstest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lis-fs/lis/fs"
	"github.com/lis-fs/lis/fs/volume"
)

var (
	targetFlag = flag.String("pjdfs.dir", "",
		"run the suite in this existing directory instead of a fresh Lis mount "+
			"(a directory on ext4 or tmpfs checks the suite's own expectations)")
	writebackFlag = flag.Bool("pjdfs.writeback", false,
		"mount with the kernel's writeback cache (lis mount -o writeback_cache); off by default, as in lis mount")
)

// suite is the state TestMain sets up once for the whole test binary.
// Cases only read it.
var suite struct {
	skip   string // why the suite cannot run here; empty when it can
	tmp    string // world-searchable scratch directory, removed at exit
	root   string // directory the cases run in: the Lis mount, or -pjdfs.dir
	lis    bool   // root is a Lis mount (not a reference directory)
	helper string // copy of this test binary that unprivileged users may execute
	xdev   string // a directory on another file system than root, or ""
	vol    *volume.Volume
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain(os.Stdin, os.Stdout))
	}
	flag.Parse()
	// The volumes' informational logs would drown the test output;
	// warnings and errors (an unexpected error mapped to EIO) stay.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if err := setUpSuite(); err != nil {
		fmt.Fprintf(os.Stderr, "pjdfstest: set up: %v\n", err)
		tearDownSuite()
		return 1
	}
	code := m.Run()
	if err := tearDownSuite(); err != nil {
		fmt.Fprintf(os.Stderr, "pjdfstest: tear down: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// setUpSuite mounts the volume the cases share and prepares the helper
// binary. Every directory on the way to the cases is 0755: the helper
// runs as unprivileged users, who must be able to reach it.
func setUpSuite() error {
	if os.Geteuid() != 0 {
		suite.skip = "the POSIX suite needs root (it mounts, chowns and switches users)"
		return nil
	}
	// The cases assume the umask pjdfstest runs under; lines that need
	// another one run in a helper with -U.
	syscall.Umask(0o022)
	tmp, err := os.MkdirTemp("", "lis-pjdfstest-")
	if err != nil {
		return err
	}
	suite.tmp = tmp
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if suite.helper, err = copyHelper(tmp); err != nil {
		return err
	}
	if *targetFlag != "" {
		if suite.root, err = os.MkdirTemp(*targetFlag, "pjdfs-"); err != nil {
			return err
		}
		if err := os.Chmod(suite.root, 0o755); err != nil {
			return err
		}
		return findCrossDevice()
	}
	suite.root = filepath.Join(tmp, "mnt")
	if err := os.Mkdir(suite.root, 0o755); err != nil {
		return err
	}
	suite.vol, err = volume.MountEmbedded(context.Background(), volume.Config{
		DataDir:    filepath.Join(tmp, "data"),
		MountPoint: suite.root,
		// allow_other: the cases' unprivileged users must reach the mount.
		FS: fs.Options{WritebackCache: *writebackFlag, AllowOther: true},
	})
	if err != nil {
		return err
	}
	suite.lis = true
	return findCrossDevice()
}

// findCrossDevice picks a directory on a file system other than root's,
// for the EXDEV cases.
func findCrossDevice() error {
	var rootSt syscall.Stat_t
	if err := syscall.Stat(suite.root, &rootSt); err != nil {
		return err
	}
	for _, dir := range []string{suite.tmp, "/dev/shm"} {
		var st syscall.Stat_t
		if syscall.Stat(dir, &st) != nil || st.Dev == rootSt.Dev {
			continue
		}
		xdev, err := os.MkdirTemp(dir, "pjdfs-xdev-")
		if err != nil {
			return err
		}
		suite.xdev = xdev
		return os.Chmod(xdev, 0o777)
	}
	return nil
}

// crossDevice returns the directory for EXDEV cases and, when there is
// none, why they are skipped.
func crossDevice() (dir, skip string) {
	if suite.xdev == "" {
		return "", "no other file system to rename or link across"
	}
	return suite.xdev, ""
}

func tearDownSuite() error {
	stopHelpers()
	var err error
	if suite.vol != nil {
		err = suite.vol.Unmount(context.Background())
	}
	unmountReadOnly()
	if *targetFlag != "" && suite.root != "" {
		os.RemoveAll(suite.root)
	}
	if suite.xdev != "" {
		os.RemoveAll(suite.xdev)
	}
	if suite.tmp != "" && err == nil {
		os.RemoveAll(suite.tmp)
	}
	return err
}

// copyHelper copies the running test binary to dir. `go test` builds it
// under a 0700 directory, which the helper's unprivileged users could not
// execute from.
func copyHelper(dir string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	src, err := os.Open(self)
	if err != nil {
		return "", err
	}
	defer src.Close()
	path := filepath.Join(dir, "helper")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return "", err
	}
	return path, dst.Close()
}

// needSuite skips t when the suite could not be set up here.
func needSuite(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

// needLis skips t when the suite runs against a reference directory.
func needLis(t *testing.T, why string) {
	t.Helper()
	needSuite(t)
	if !suite.lis {
		t.Skip("needs a Lis mount: " + why)
	}
}
