package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2EPolicyFiles: .lis-policy.yaml through the mount sets, replaces
// and clears its directory's policy, as `lis policy show` reports; bad
// content is refused at close (EINVAL) or rename (EBADMSG) with the line
// in the log, and the previous policy stays; `lis policy check` checks a
// file without a mount.
func TestE2EPolicyFiles(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	dir := filepath.Join(m.mnt, "vms")
	require.NoError(t, os.Mkdir(dir, 0o755))
	file := filepath.Join(dir, "disk.img")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	pf := filepath.Join(dir, ".lis-policy.yaml")
	show := func() string {
		t.Helper()
		out, err := runLis("policy", "show", file)
		require.NoError(t, err, "lis policy show: %s", out)
		return out
	}
	require.Contains(t, show(), "from: the built-in default")

	require.NoError(t, os.WriteFile(pf, []byte("target_copies: 2\n"), 0o644))
	require.Contains(t, show(), "copies=2")
	require.Contains(t, show(), "from: "+pf)
	require.NoError(t, os.WriteFile(pf, []byte("write_ack: local_plus_one\ntarget_copies: 3\n"), 0o644))
	require.Contains(t, show(), "write_ack=local_plus_one replication=async_priority copies=3")
	require.Contains(t, show(), "warning: 3 copies asked for, but only 1 live dataservers with free space",
		"a policy the cluster cannot hold yet is taken, with a warning")

	// Bad content: close says EINVAL, the file keeps it, the policy stays.
	bad := "write_ack: local_plus_one\ntarget_copies: zero\n"
	f, err := os.OpenFile(pf, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	_, err = f.WriteString(bad)
	require.NoError(t, err)
	require.ErrorIs(t, f.Close(), syscall.EINVAL)
	got, err := os.ReadFile(pf)
	require.NoError(t, err)
	require.Equal(t, bad, string(got), "the policy file stays a real file")
	require.Contains(t, show(), "copies=3", "the previous policy stays in force")
	require.Contains(t, daemonLog(m.mnt), `.lis-policy.yaml:2: target_copies: must be a positive integer`)
	// fsync says so too.
	f, err = os.OpenFile(pf, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString("# still bad\n")
	require.NoError(t, err)
	require.ErrorIs(t, f.Sync(), syscall.EINVAL)
	require.ErrorIs(t, f.Close(), syscall.EINVAL)

	// Renames: a good file renamed in sets the policy, a bad one is refused.
	tmp := filepath.Join(dir, "new.yaml")
	require.NoError(t, os.WriteFile(tmp, []byte("target_copies: 1_per_region\n"), 0o644))
	require.NoError(t, os.Rename(tmp, pf))
	require.Contains(t, show(), "copies=1_per_region")
	require.NoError(t, os.WriteFile(tmp, []byte("bogus: 1\n"), 0o644))
	require.ErrorIs(t, os.Rename(tmp, pf), syscall.EBADMSG)
	require.Contains(t, show(), "copies=1_per_region")
	require.FileExists(t, tmp, "a refused rename loses nothing")

	// It outlives a remount; renaming it away or removing it clears it.
	m.remount(t)
	require.Contains(t, show(), "copies=1_per_region")
	require.NoError(t, os.Rename(pf, filepath.Join(dir, "old.yaml")))
	require.Contains(t, show(), "from: the built-in default")
	require.NoError(t, os.Rename(filepath.Join(dir, "old.yaml"), pf))
	require.Contains(t, show(), "copies=1_per_region")
	require.NoError(t, os.Remove(pf))
	require.Contains(t, show(), "from: the built-in default")

	// lis policy check, without a mount.
	good := filepath.Join(t.TempDir(), "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("replication: async_lazy\n"), 0o644))
	out, err := runLis("policy", "check", good)
	require.NoError(t, err, out)
	require.Contains(t, out, "ok: write_ack=")
	require.NotContains(t, out, "warning")
	require.NoError(t, os.WriteFile(good, []byte("replication: async_lazy\nbandwidth:\n  limit: 100mbps\n"), 0o644))
	out, err = runLis("policy", "check", good)
	require.NoError(t, err, out)
	require.Contains(t, out, "warning: bandwidth: is set per dataserver", "a part that is not applied is said")
	require.NoError(t, os.WriteFile(good, []byte("replication: async_lazy\nbandwidth:\n  limit: fast\n"), 0o644))
	out, err = runLis("policy", "check", good)
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "lis policy check of a bad file: %v %s", err, out)
	require.Contains(t, out, good+":3: bandwidth.limit")
}
