package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// checkMountPoint says, in a user's words, what keeps mnt (given as
// given) from being mounted on. A dead Lis mount there (its daemon was
// killed: see deadMount) is unmounted lazily, saying so, so
// that the mount can go ahead; a dead mount of another filesystem is left
// alone, with what to do.
func checkMountPoint(mnt, given string) error {
	st, err := os.Stat(mnt)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("mount point %s is not a directory", given)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("mount point %s does not exist (create it with: mkdir -p %s)", given, mnt)
	case !deadMount(err):
		return fmt.Errorf("mount point %s: %w", given, err)
	}
	if t := mountType(mnt); t != "fuse.lis" {
		return fmt.Errorf("mount point %s is a dead %s mount, not Lis's: unmount it first (umount -l %s)", given, t, mnt)
	}
	if err := lazyUnmount(mnt); err != nil {
		return fmt.Errorf("mount point %s is a dead Lis mount (its daemon died) and could not be unmounted: %w", given, err)
	}
	fmt.Fprintf(os.Stderr, "lis: %s was a dead Lis mount (its daemon died); unmounted it, mounting again\n", mnt)
	return checkMountPoint(mnt, given)
}

// deadMount reports whether err is what a FUSE mount whose daemon died
// answers: ENOTCONN, or ECONNABORTED while the kernel tears it down.
func deadMount(err error) bool {
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// lazyUnmount detaches the mount at mnt.
func lazyUnmount(mnt string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(mnt, syscall.MNT_DETACH)
	}
	if out, err := exec.Command("fusermount3", "-uz", mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	return nil
}

// mountType returns the filesystem type of the mount at mnt, from
// /proc/self/mountinfo ("" if it is not a mount point).
func mountType(mnt string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return mountinfoType(string(b), mnt)
}

// mountinfoType finds mnt (field 5) in a mountinfo text and returns the
// type that follows the " - " separator of its line; the last mount on
// mnt wins, as it is the one on top.
func mountinfoType(mountinfo, mnt string) string {
	found := ""
	for _, line := range strings.Split(mountinfo, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 || unescapeMountinfo(fields[4]) != mnt {
			continue
		}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				found = fields[i+1]
			}
		}
	}
	return found
}
