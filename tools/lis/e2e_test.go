package main

// End-to-end tests: the real lis binary, built once in TestMain, mounting
// real volumes in daemon processes, driven by real tools (tar, git,
// sqlite3, flock). They need root and /dev/fuse and are skipped otherwise;
// tools that are missing skip their test with a message saying so.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/tools/testlock"
)

// lisBin is the binary under test; empty when the e2e tests cannot run.
var lisBin string

// skipReason says why the e2e tests are skipped, when they are.
var skipReason string

func TestMain(m *testing.M) {
	if helper := os.Getenv(helperEnv); helper != "" {
		os.Exit(runHelper(helper, os.Args[1:]))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	switch {
	case os.Geteuid() != 0:
		skipReason = "e2e tests mount FUSE file systems directly and need root"
	case !canOpen("/dev/fuse"):
		skipReason = "/dev/fuse is not usable here"
	}
	if skipReason == "" {
		release, err := testlock.Hold() // not alongside tools/geosim's clusters
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer release()
		dir, err := os.MkdirTemp("", "lis-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		lisBin = filepath.Join(dir, "lis")
		out, err := exec.Command("go", "build", "-o", lisBin, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build lis: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

func canOpen(p string) bool {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// needE2E skips t when the binary could not be built for lack of root or
// FUSE.
func needE2E(t testing.TB) {
	t.Helper()
	if lisBin == "" {
		t.Skip(skipReason)
	}
}

// needTool skips t when a command the test drives is not installed.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s); skipping", name, name)
	}
	return p
}

// runLis runs the lis binary and returns its combined output.
func runLis(args ...string) (string, error) {
	out, err := exec.Command(lisBin, args...).CombinedOutput()
	return string(out), err
}

// publicTempDir is a fresh directory that every user can traverse (for
// the allow_other checks and for the mount points).
func publicTempDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		require.NoError(t, os.Chmod(p, 0o755))
	}
	return d
}

// mounted is a Lis mount made by the test, unmounted at cleanup.
type mounted struct {
	dataDir string // the embedded volume's data directory; "" for a joined client
	mnt     string
}

// mountLis runs `lis mount` with args (MOUNTPOINT last) and schedules the
// unmount; if the unmount fails, the daemon's log is shown and the mount
// is detached so later tests do not trip over it.
func mountLis(t testing.TB, args ...string) {
	t.Helper()
	mnt := args[len(args)-1]
	out, err := runLis(append([]string{"mount"}, args...)...)
	require.NoError(t, err, "lis mount %v: %s\n%s", args, out, daemonLog(mnt))
	require.True(t, isMounted(mnt), "lis mount returned but %s is not mounted", mnt)
	t.Cleanup(func() { unmountForCleanup(t, mnt) })
}

func unmountForCleanup(t testing.TB, mnt string) {
	if isMounted(mnt) {
		if out, err := runLis("umount", mnt); err != nil {
			t.Errorf("lis umount %s: %v: %s\n%s", mnt, err, out, daemonLog(mnt))
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	}
	removeLogIfPassed(t, mnt)
}

// removeLogIfPassed removes the daemon log `lis mount` keeps for mnt in
// /run/lis, unless the test failed (then it is worth reading).
func removeLogIfPassed(t testing.TB, mnt string) {
	if !t.Failed() {
		os.Remove(runFile(mnt, "log"))
	}
}

// mountEmbedded mounts a fresh embedded volume and returns it.
func mountEmbedded(t *testing.T, opts ...string) mounted {
	t.Helper()
	base := publicTempDir(t)
	m := mounted{dataDir: filepath.Join(base, "data"), mnt: filepath.Join(base, "mnt")}
	require.NoError(t, os.Mkdir(m.mnt, 0o755))
	mountLis(t, append(append([]string{"--data-dir", m.dataDir}, opts...), m.mnt)...)
	return m
}

// joinClient mounts a second client of the embedded volume m, through its
// metaservice and dataserver sockets.
func joinClient(t *testing.T, m mounted, opts ...string) mounted {
	t.Helper()
	j := mounted{mnt: filepath.Join(filepath.Dir(m.mnt), "mnt2")}
	require.NoError(t, os.Mkdir(j.mnt, 0o755))
	args := []string{"--meta", "unix:" + filepath.Join(m.dataDir, "meta.sock"),
		"--dataserver", "unix:" + filepath.Join(m.dataDir, "data.sock")}
	mountLis(t, append(append(args, opts...), j.mnt)...)
	return j
}

// remount unmounts the embedded volume and mounts it again, so that what
// is read next comes from the volume, not from any cache.
func (m mounted) remount(t *testing.T) {
	t.Helper()
	out, err := runLis("umount", m.mnt)
	require.NoError(t, err, "lis umount: %s", out)
	require.False(t, isMounted(m.mnt))
	out, err = runLis("mount", "--data-dir", m.dataDir, m.mnt)
	require.NoError(t, err, "lis mount again: %s\n%s", out, daemonLog(m.mnt))
}

// daemonLog is the tail of the mount daemon's log, for failure messages.
func daemonLog(mnt string) string {
	b, err := os.ReadFile(runFile(mnt, "log"))
	if err != nil {
		return "(no daemon log)"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "daemon log:\n" + string(b)
}

// mountOptions returns the mount's options and super options from
// /proc/self/mountinfo, and its source.
func mountOptions(t *testing.T, mnt string) (opts []string, source string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(tail) < 3 || unescapeMountinfo(fields[4]) != mnt {
			continue
		}
		require.Equal(t, "fuse.lis", tail[0], "file system type of %s", mnt)
		opts = append(strings.Split(fields[5], ","), strings.Split(tail[2], ",")...)
		return opts, tail[1]
	}
	t.Fatalf("%s is not in /proc/self/mountinfo", mnt)
	return nil, ""
}

// run runs a command in dir and fails the test with its output if it
// fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out.String())
	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out.String()
}
