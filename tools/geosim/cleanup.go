package geosim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Close removes everything the World made: mounts, processes, the router
// and its TUN devices, namespaces (with their veths) and the state
// directory. It is bounded in time and goes on past errors, returning the
// first.
func (w *World) Close() error {
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	w.mu.Lock()
	mounts, procs, made := slices.Clone(w.mounts), slices.Clone(w.procs), slices.Clone(w.made)
	w.mu.Unlock()
	for _, m := range mounts {
		note(unmount(m))
	}
	for _, p := range procs {
		if err := p.Stop(10 * time.Second); err != nil && !isExitFromSignal(err) {
			note(err)
		}
	}
	if w.router != nil {
		w.router.Close()
	}
	if w.KeepLogs != "" {
		note(exec.Command("cp", "-r", filepath.Join(w.Dir, "logs"), w.KeepLogs).Run())
	}
	slices.Reverse(made) // hosts before their gateways
	for _, ns := range made {
		note(removeNetns(ns))
	}
	note(os.RemoveAll(w.Dir))
	note(os.RemoveAll(filepath.Join(awayRoot, filepath.Base(w.Dir))))
	return first
}

// isExitFromSignal tells an exit caused by our SIGTERM from a failure.
func isExitFromSignal(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited()
}

// removeNetns kills whatever still runs in ns, then deletes it.
func removeNetns(ns string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return ip(ctx, "netns", "del", ns)
}

// unmount unmounts a FUSE mount of the World: `umount`, then lazily if
// the daemon is gone or stuck.
func unmount(mnt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !isMounted(mnt) {
		return nil
	}
	if exec.CommandContext(ctx, "umount", mnt).Run() == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "umount", "-l", mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("umount -l %s: %w: %s", mnt, err, out)
	}
	return nil
}

// mountsUnder lists the mount points under dir, from /proc/self/mounts.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && strings.HasPrefix(fields[1], dir+"/") {
			out = append(out, fields[1])
		}
	}
	return out
}

func isMounted(mnt string) bool { return slices.Contains(mountsUnder(filepath.Dir(mnt)), mnt) }

// CleanLeftovers removes what a World of a process no longer alive left
// behind: its mounts, the processes in its namespaces, the namespaces and
// its state directory. Worlds of live processes are left alone.
func CleanLeftovers(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("ip netns list: %w", err)
	}
	dead := map[string]bool{}
	var nss []string
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], namePrefix) {
			continue
		}
		if pid, ok := leftoverPID(fields[0]); ok {
			dead[pid] = true
			nss = append(nss, fields[0])
		}
	}
	if entries, err := os.ReadDir(stateRoot); err == nil {
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && !alive(pid) {
				dead[e.Name()] = true
			}
		}
	}
	var first error
	for pid := range dead {
		for _, m := range mountsUnder(filepath.Join(stateRoot, pid)) {
			if err := unmount(m); err != nil && first == nil {
				first = err
			}
		}
	}
	slices.Sort(nss)
	slices.Reverse(nss) // a site's hosts (site-N) sort after the site
	for _, ns := range nss {
		if err := removeNetns(ns); err != nil && first == nil {
			first = err
		}
	}
	for pid := range dead {
		os.RemoveAll(filepath.Join(stateRoot, pid))
		os.RemoveAll(filepath.Join(awayRoot, pid))
	}
	return first
}

// leftoverPID returns the PID in a namespace name lisgeo-PID-... if that
// process is gone.
func leftoverPID(ns string) (string, bool) {
	pidStr, _, _ := strings.Cut(strings.TrimPrefix(ns, namePrefix), "-")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || alive(pid) {
		return "", false
	}
	return pidStr, true
}

func alive(pid int) bool {
	return pid == os.Getpid() || syscall.Kill(pid, 0) == nil
}
