package geosim

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startUp runs `lis geosim up` and waits until its cluster is up.
func startUp(t *testing.T) *exec.Cmd {
	cmd := exec.Command(lisBin, "geosim", "up")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); CleanLeftovers(context.Background()) })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ctrl-C") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		t.Fatal("lis geosim up never came up")
	}
	return cmd
}

// leftovers lists what a geosim run of pid left: namespaces, mounts and
// its state directory.
func leftovers(t *testing.T, pid int) []string {
	var out []string
	list, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(list), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("%s%d-", namePrefix, pid)) {
			out = append(out, "netns "+strings.Fields(l)[0])
		}
	}
	dir := filepath.Join(stateRoot, fmt.Sprint(pid))
	for _, m := range mountsUnder(dir) {
		out = append(out, "mount "+m)
	}
	if _, err := os.Stat(dir); err == nil {
		out = append(out, "dir "+dir)
	}
	return out
}

// TestUpTearsDownOnSIGINT: Ctrl-C on `lis geosim up` removes every
// namespace, mount, process and file it made.
func TestUpTearsDownOnSIGINT(t *testing.T) {
	needRoot(t)
	cmd := startUp(t)
	pid := cmd.Process.Pid
	require.Len(t, mountsUnder(filepath.Join(stateRoot, fmt.Sprint(pid))), 3, "a mount per host")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("lis geosim up did not end within a minute of SIGINT")
	}
	require.Empty(t, leftovers(t, pid))
}

// TestCleanLeftoversAfterACrash: what a killed run left (daemons still
// running in its namespaces, FUSE mounts, namespaces) is removed by the
// next run's CleanLeftovers, and nothing of a live run is touched.
func TestCleanLeftoversAfterACrash(t *testing.T) {
	needRoot(t)
	cmd := startUp(t)
	pid := cmd.Process.Pid
	var daemons []int
	for _, l := range leftovers(t, pid) {
		if ns, ok := strings.CutPrefix(l, "netns "); ok {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			for _, f := range strings.Fields(string(out)) {
				var p int
				fmt.Sscan(f, &p)
				daemons = append(daemons, p)
			}
		}
	}
	require.NotEmpty(t, daemons)
	live := buildWorld(t, Spec{Sites: DefaultSites(1)[:1]}) // this process's own World: alive, so kept

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	require.NotEmpty(t, leftovers(t, pid), "a killed run leaves its namespaces")
	require.NoError(t, CleanLeftovers(context.Background()))
	require.Empty(t, leftovers(t, pid))
	for _, p := range daemons {
		require.Eventually(t, func() bool { return !running(p) }, 10*time.Second, 50*time.Millisecond,
			"process %d of the crashed run still runs", p)
	}
	require.NotEmpty(t, leftovers(t, os.Getpid()), "a live run's World was removed")
	_ = live
}

// running says whether process pid exists and is not a zombie (a killed
// daemon whose parent died waits for init to reap it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
