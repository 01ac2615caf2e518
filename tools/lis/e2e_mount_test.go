package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestE2EMountUmount: the daemonized mount is ready when `lis mount`
// returns, persists what was written across an unmount, refuses a second
// mount of its data directory, stays mounted while busy, and goes away on
// `lis umount` and on SIGTERM.
func TestE2EMountUmount(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	_, src := mountOptions(t, m.mnt)
	require.Equal(t, "lis:"+m.dataDir, src)
	file := filepath.Join(m.mnt, "hello")
	require.NoError(t, os.WriteFile(file, []byte("hello, lis\n"), 0o640))
	pid := mountDaemon(m.mnt)
	require.NotZero(t, pid, "no live mount daemon recorded for %s", m.mnt)

	t.Run("SecondMountRefused", func(t *testing.T) {
		other := filepath.Join(filepath.Dir(m.mnt), "other")
		require.NoError(t, os.Mkdir(other, 0o755))
		t.Cleanup(func() { removeLogIfPassed(t, other) })
		out, err := runLis("mount", "--data-dir", m.dataDir, other)
		require.Error(t, err, "second mount of %s succeeded: %s", m.dataDir, out)
		require.Contains(t, out, m.dataDir, "the refusal names the volume")
		require.Contains(t, out, "already mounted")
		require.False(t, isMounted(other))
	})

	t.Run("BusyStaysMounted", func(t *testing.T) {
		sleeper := exec.Command("sleep", "60")
		sleeper.Dir = m.mnt
		require.NoError(t, sleeper.Start())
		out, err := runLis("umount", m.mnt)
		sleeper.Process.Kill()
		sleeper.Wait()
		require.Error(t, err, "umount of a busy mount succeeded: %s", out)
		require.Contains(t, out, "busy")
		require.True(t, isMounted(m.mnt))
		got, err := os.ReadFile(file)
		require.NoError(t, err, "the mount still serves after a refused umount")
		require.Equal(t, "hello, lis\n", string(got))
	})

	t.Run("UmountThenRemount", func(t *testing.T) {
		out, err := runLis("umount", m.mnt)
		require.NoError(t, err, "lis umount: %s", out)
		require.False(t, isMounted(m.mnt))
		require.False(t, processAlive(pid), "mount daemon %d still runs after umount", pid)
		out, err = runLis("mount", "--data-dir", m.dataDir, m.mnt)
		require.NoError(t, err, "remount: %s", out)
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, "hello, lis\n", string(got))
		st, err := os.Stat(file)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	})

	t.Run("SIGTERMUnmounts", func(t *testing.T) {
		pid := mountDaemon(m.mnt)
		require.NotZero(t, pid)
		require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
		require.Eventually(t, func() bool { return !processAlive(pid) }, time.Minute, 20*time.Millisecond)
		require.False(t, isMounted(m.mnt), "SIGTERM left %s mounted", m.mnt)
	})
}

// processAlive is alive, the binary's own check: a zombie (exited, not yet
// reaped) counts as gone.
func processAlive(pid int) bool { return alive(pid) }

// TestE2EMountHelper runs the installed helper link the way mount(8) and
// an /etc/fstab line run it: SOURCE MOUNTPOINT -o OPTIONS, with generic
// and x-* options mixed in.
func TestE2EMountHelper(t *testing.T) {
	needE2E(t)
	binDir := t.TempDir()
	out, err := runLis("install-mount-helper", "--dir", binDir)
	require.Error(t, err, "a link to the test's binary, in a temporary directory")
	require.Contains(t, out, "will not stay there")
	require.NoFileExists(t, filepath.Join(binDir, "mount.fuse.lis"))
	out, err = runLis("install-mount-helper", "--dir", binDir, "--force")
	require.NoError(t, err, "install-mount-helper: %s", out)
	helper := filepath.Join(binDir, "mount.fuse.lis")
	target, err := filepath.EvalSymlinks(helper)
	require.NoError(t, err)
	want, err := filepath.EvalSymlinks(lisBin)
	require.NoError(t, err)
	require.Equal(t, want, target)

	for _, tc := range []struct {
		name, opts         string
		allowOther, rdonly bool
	}{
		{name: "AllowOther", opts: "allow_other", allowOther: true},
		{name: "AsMount8Passes", opts: "rw,noatime,allow_other", allowOther: true},
		{name: "Fstab", opts: "defaults,noatime,_netdev,nofail,x-systemd.automount,x-systemd.mount-timeout=30,allow_other,attr_timeout=2", allowOther: true},
		{name: "RootDefault", opts: "rw", allowOther: true},
		{name: "ReadOnlyPrivate", opts: "ro,noallow_other", rdonly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := publicTempDir(t)
			data, mnt := filepath.Join(base, "data"), filepath.Join(base, "mnt")
			require.NoError(t, os.Mkdir(mnt, 0o755))
			out, err := exec.Command(helper, data, mnt, "-o", tc.opts).CombinedOutput()
			require.NoError(t, err, "%s %s %s -o %s: %s\n%s", helper, data, mnt, tc.opts, out, daemonLog(mnt))
			t.Cleanup(func() { unmountForCleanup(t, mnt) })
			opts, src := mountOptions(t, mnt)
			require.Equal(t, "lis:"+data, src)
			require.Equal(t, tc.allowOther, contains(opts, "allow_other"), "options %v", opts)
			require.Equal(t, tc.rdonly, contains(opts, "ro"), "options %v", opts)

			err = os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644)
			if tc.rdonly {
				require.ErrorIs(t, err, syscall.EROFS)
			} else {
				require.NoError(t, err)
			}
			// Another user reaches the files only with allow_other (a
			// root mount's default), and then as the modes say.
			err = asNobody("stat", mnt).Run()
			require.Equal(t, tc.allowOther, err == nil, "stat as nobody: %v", err)
			if tc.allowOther {
				require.NoError(t, os.Mkdir(filepath.Join(mnt, "shared"), 0o755))
				require.NoError(t, os.Chmod(filepath.Join(mnt, "shared"), 0o777))
				out, err := asNobody("sh", "-c", "echo mine > "+mnt+"/shared/n && cat "+mnt+"/shared/n").CombinedOutput()
				require.NoError(t, err, "nobody writes and reads: %s", out)
				require.Equal(t, "mine\n", string(out))
				require.Error(t, asNobody("sh", "-c", "echo no > "+mnt+"/f").Run(), "nobody may not write root's 0644 file")
			}
		})
	}
}

// TestE2EMount8 runs the real mount(8) with -t fuse.lis and with an
// /etc/fstab line. mount(8) finds helpers only in /sbin, so the test runs
// in a private mount namespace where /sbin (and /etc/fstab) are replaced
// by its own; nothing outside the namespace changes.
func TestE2EMount8(t *testing.T) {
	needE2E(t)
	needTool(t, "unshare")
	needTool(t, "mount")
	sbin, err := filepath.EvalSymlinks("/sbin")
	require.NoError(t, err)
	binDir := t.TempDir()
	out, err := runLis("install-mount-helper", "--dir", binDir, "--force")
	require.NoError(t, err, "install-mount-helper: %s", out)
	base := publicTempDir(t)
	data, mnt, mnt2 := filepath.Join(base, "data"), filepath.Join(base, "mnt"), filepath.Join(base, "fstab-mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	require.NoError(t, os.Mkdir(mnt2, 0o755))
	fstab := filepath.Join(base, "fstab")
	require.NoError(t, os.WriteFile(fstab, []byte(
		data+"  "+mnt2+"  fuse.lis  defaults,noatime,x-systemd.automount,allow_other  0  0\n"), 0o644))
	t.Cleanup(func() {
		// If the script failed half way, its daemons serve mounts only
		// the namespace could see; stop them.
		for _, p := range []string{mnt, mnt2} {
			if pid := mountDaemon(p); pid != 0 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
			removeLogIfPassed(t, p)
		}
	})
	script := `set -e
mount --bind "$BIN" "$SBIN"
mount --bind "$FSTAB" /etc/fstab
mount -t fuse.lis "$DATA" "$MNT" -o allow_other
grep " $MNT " /proc/self/mountinfo
echo via-mount8 > "$MNT/f"
"$LIS" umount "$MNT"
mount "$MNT2"
grep " $MNT2 " /proc/self/mountinfo
cat "$MNT2/f"
"$LIS" umount "$MNT2"
`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+binDir, "SBIN="+sbin, "FSTAB="+fstab, "DATA="+data,
		"MNT="+mnt, "MNT2="+mnt2, "LIS="+lisBin)
	b, err := cmd.CombinedOutput()
	out = string(b)
	require.NoError(t, err, "mount(8) script: %s\n%s\n%s", out, daemonLog(mnt), daemonLog(mnt2))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, "output: %s", out)
	require.Contains(t, lines[0], "fuse.lis lis:"+data)
	require.Contains(t, lines[0], "allow_other")
	require.Contains(t, lines[1], "fuse.lis lis:"+data)
	require.Contains(t, lines[1], "allow_other", "the fstab line's allow_other")
	require.Equal(t, "via-mount8", lines[2])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// asNobody prepares a command run as uid/gid 65534.
func asNobody(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd
}
