package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// target is a place the workloads run in: a directory plus how to make it
// cold and how to tear it down.
type target struct {
	name string
	dir  string // where workloads create their files
	mnt  string // the FUSE mount point; "" for the raw directory
	// cold drops every cache a read could be served from: the kernel's
	// (drop_caches) and, for Lis, the daemon's (a remount).
	cold  func(context.Context) error
	close func() error
	// pid is the process serving the target (0: none, or this one).
	pid func() int
	// txns reads how many metadata transactions the target has made so
	// far (nil: it has no metaservice).
	txns func() (float64, error)
}

const (
	rawName      = "raw"
	loopbackName = "loopback"
	lisName      = "Lis"
)

// dropCaches writes back dirty pages and drops the page, dentry and
// inode caches (needs root; the report says when it was not possible).
func dropCaches() error {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		return fmt.Errorf("drop caches (run as root for cold reads): %w", err)
	}
	return nil
}

func newRaw(work string) (*target, error) {
	dir := filepath.Join(work, "raw")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &target{name: rawName, dir: dir,
		cold:  func(context.Context) error { return dropCaches() },
		close: func() error { return nil },
		pid:   func() int { return 0 }}, nil
}

// newLoopback mounts go-fuse's loopback file system over a directory of
// the same disk, in this process, with the mount settings Lis uses where
// they apply (1 MiB requests, 1 s entry/attribute/negative timeouts).
func newLoopback(work string) (*target, error) {
	backing, mnt := filepath.Join(work, "loopback-backing"), filepath.Join(work, "loopback-mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	root, err := gofs.NewLoopbackRoot(backing)
	if err != nil {
		return nil, fmt.Errorf("loopback root: %w", err)
	}
	sec := time.Second
	srv, err := gofs.Mount(mnt, root, &gofs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec, NegativeTimeout: &sec,
		MountOptions: fuse.MountOptions{FsName: "loopback", Name: "loopback", DirectMount: true,
			MaxWrite: 1 << 20, MaxReadAhead: 1 << 20, MaxBackground: 64},
	})
	if err != nil {
		return nil, fmt.Errorf("mount loopback: %w", err)
	}
	return &target{name: loopbackName, dir: mnt, mnt: mnt,
		cold:  func(context.Context) error { return dropCaches() },
		close: srv.Unmount,
		pid:   func() int { return 0 }}, nil
}

// lisMount is a Lis embedded volume mounted by the real lis binary.
type lisMount struct {
	bin, data, mnt, opts string
	metrics              string // the daemon's --metrics address
}

func newLis(work, bin, opts string) (*target, error) {
	m := &lisMount{bin: bin, data: filepath.Join(work, "lis-data"), mnt: filepath.Join(work, "lis-mnt"), opts: opts}
	if err := os.MkdirAll(m.mnt, 0o755); err != nil {
		return nil, err
	}
	var err error
	if m.metrics, err = freeLoopbackAddr(); err != nil {
		return nil, err
	}
	if err := m.mount(); err != nil {
		return nil, err
	}
	return &target{name: lisName, dir: m.mnt, mnt: m.mnt,
		cold: func(ctx context.Context) error {
			if err := m.umount(); err != nil {
				return err
			}
			if err := dropCaches(); err != nil {
				return err
			}
			return m.mount()
		},
		close: m.shutdown,
		pid:   m.pid,
		txns:  func() (float64, error) { return scrapeCounter(m.metrics, kvTxnsMetric) }}, nil
}

func (m *lisMount) mount() error {
	args := []string{"mount", "--data-dir", m.data, "--metrics", m.metrics}
	if m.opts != "" {
		args = append(args, "-o", m.opts)
	}
	out, err := exec.Command(m.bin, append(args, m.mnt)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lis mount: %v: %s", err, out)
	}
	return nil
}

func (m *lisMount) umount() error {
	out, err := exec.Command(m.bin, "umount", m.mnt).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lis umount: %v: %s", err, out)
	}
	return nil
}

// shutdown unmounts at the end of the run. A daemon that cannot unmount
// (stalled: the watchdog aborted its connection) is killed and the mount
// detached, so the run leaves nothing behind.
func (m *lisMount) shutdown() error {
	pid := m.pid()
	err := m.umount()
	if err == nil {
		os.Remove(m.runFile("log"))
		return nil
	}
	if pid != 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	syscall.Unmount(m.mnt, syscall.MNT_DETACH)
	return fmt.Errorf("%w (killed daemon %d, detached the mount; its log: %s)", err, pid, m.runFile("log"))
}

// abortFuse aborts the FUSE connection of the mount at mnt, failing every
// request in it. The connection is found from /proc/self/mountinfo, not by
// stat, which would block on a stalled daemon.
func abortFuse(mnt string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == mnt {
			_, minor, _ := strings.Cut(f[2], ":")
			const ctl = "/sys/fs/fuse/connections"
			if _, err := os.Stat(filepath.Join(ctl, minor)); err != nil {
				// fusectl is not mounted everywhere (systemd mounts it).
				syscall.Mount("fusectl", ctl, "fusectl", 0, "")
			}
			return os.WriteFile(filepath.Join(ctl, minor, "abort"), []byte("1"), 0)
		}
	}
	return fmt.Errorf("%s is not mounted", mnt)
}

// pid is the mount daemon's, from the pid file `lis mount` keeps in
// /run/lis (root) for `lis umount`.
func (m *lisMount) pid() int {
	b, err := os.ReadFile(m.runFile("pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// runFile is where `lis mount` keeps the daemon's pid and log files (as
// root).
func (m *lisMount) runFile(kind string) string {
	name := strings.ReplaceAll(strings.Trim(m.mnt, "/"), "/", "_")
	return filepath.Join("/run/lis", "mount-"+name+"."+kind)
}

// buildLis builds the lis binary of the module the harness runs in.
func buildLis(work string) (string, error) {
	gomod := goEnv("GOMOD")
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the Lis module; give --lis")
	}
	bin := filepath.Join(work, "lis")
	cmd := exec.Command("go", "build", "-o", bin, "./tools/lis")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lis: %v: %s", err, out)
	}
	return bin, nil
}

func goEnv(key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
