package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "umount MOUNTPOINT",
		Short: "Flush and unmount a Lis volume",
		Long: `Unmount a Lis volume: every written file is committed, the client's session
ends and the metadata is made durable before the command returns. A mount
that is still in use stays mounted and the command fails.`,
		Example: "  lis umount /mnt/lis",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mnt, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			return unmount(mnt)
		},
	})
}

func unmount(mnt string) error {
	switch t := mountType(mnt); t {
	case "fuse.lis":
	case "":
		return fmt.Errorf("%s is not a mount point", mnt)
	default:
		return fmt.Errorf("%s is not a Lis mount (it is %s): use umount", mnt, t)
	}
	pid := mountDaemon(mnt)
	if pid == 0 {
		// No daemon of ours (a foreground mount elsewhere, or a dead one):
		// unmount the kernel side.
		return kernelUnmount(mnt)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal mount daemon %d: %w", pid, err)
	}
	// The daemon unmounts, commits and exits; if the mount is still there
	// after its few seconds of retries, something holds it busy.
	start := time.Now()
	for {
		switch {
		case !alive(pid):
			return nil
		case time.Since(start) > 5*time.Second && isMounted(mnt):
			return fmt.Errorf("unmount %s: target is busy", mnt)
		case time.Since(start) > 90*time.Second:
			return fmt.Errorf("unmount %s: mount daemon %d did not exit", mnt, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func kernelUnmount(mnt string) error {
	if os.Geteuid() == 0 {
		if err := syscall.Unmount(mnt, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", mnt, err)
		}
		return nil
	}
	if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("unmount %s: %s", mnt, out)
	}
	return nil
}

// isMounted reports whether mnt is a mount point in /proc/self/mountinfo.
func isMounted(mnt string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	return mountinfoHas(string(b), mnt)
}

// mountinfoHas reports whether a mountinfo text lists mnt as a mount point
// (field 5, with spaces and the like octal-escaped).
func mountinfoHas(mountinfo, mnt string) bool {
	for _, line := range strings.Split(mountinfo, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == mnt {
			return true
		}
	}
	return false
}

func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// alive reports whether pid is a running process: a zombie (exited, not
// yet reaped by its parent) is not.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
