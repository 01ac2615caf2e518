package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
)

// TestE2EMountPointMessages: what `lis mount` and `lis umount` say when
// the mount point is wrong, and the line a mount prints on success.
func TestE2EMountPointMessages(t *testing.T) {
	needE2E(t)
	base := publicTempDir(t)
	missing := filepath.Join(base, "no", "such")
	out, err := runLis("mount", "--data-dir", filepath.Join(base, "data"), missing)
	require.Error(t, err)
	require.Contains(t, out, "mount point "+missing+" does not exist (create it with: mkdir -p "+missing+")")
	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	out, err = runLis("mount", "--data-dir", filepath.Join(base, "data"), file)
	require.Error(t, err)
	require.Contains(t, out, "is not a directory")

	out, err = runLis("umount", base)
	require.Error(t, err)
	require.Contains(t, out, base+" is not a mount point")

	mnt := filepath.Join(base, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	out, err = runLis("mount", "--data-dir", filepath.Join(base, "data"), mnt)
	require.NoError(t, err, out)
	t.Cleanup(func() { unmountForCleanup(t, mnt) })
	m := regexp.MustCompile(`^lis: mounted the embedded volume in (\S+) at (\S+) \(log: (\S+)\)\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, "the success line: %q", out)
	require.Equal(t, mnt, m[2])
	require.FileExists(t, m[3], "the log the line names")

	out, err = runLis("version")
	require.NoError(t, err, out)
	require.Regexp(t, `^lis \S+.* go1\.`, out)
}

// TestE2ERemountAfterKill: after the mount daemon is killed (-9), `lis
// mount` on the same mount point unmounts the dead mount, says so, and
// mounts again; what was fsynced is there.
func TestE2ERemountAfterKill(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	f, err := os.Create(filepath.Join(m.mnt, "db"))
	require.NoError(t, err)
	_, err = f.WriteString("fsynced before the crash")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	killMountDaemon(t, m.mnt)
	_, err = os.Stat(m.mnt)
	require.True(t, deadMount(err), "a dead FUSE mount: %v", err)

	out, err := runLis("mount", "--data-dir", m.dataDir, m.mnt)
	require.NoError(t, err, "%s\n%s", out, daemonLog(m.mnt))
	require.Contains(t, out, "was a dead Lis mount (its daemon died); unmounted it, mounting again")
	requireContent(t, filepath.Join(m.mnt, "db"), []byte("fsynced before the crash"), "after the remount")
}

// TestE2ELocationNames: site and region names follow one rule wherever
// they are given: a dataserver's flags, a shard's site, a policy's regions.
func TestE2ELocationNames(t *testing.T) {
	needE2E(t)
	out, err := runLis("dataserver", "--dir", shortTempDir(t), "--unix", filepath.Join(shortTempDir(t), "s"), "--site", "Bad Site!")
	require.Error(t, err)
	require.Contains(t, out, `--site: site names are lower-case letters, digits, '-' and '_', starting with a letter, at most 63 long; got "Bad Site!"`)
	m := mountEmbedded(t)
	out, err = runLis("shard", "site", "1", "Bad Site!", "--meta", "unix:"+filepath.Join(m.dataDir, "meta.sock"))
	require.Error(t, err)
	require.Contains(t, out, `site names are lower-case letters`)
	pf := filepath.Join(m.mnt, ".lis-policy.yaml")
	require.NoError(t, os.WriteFile(filepath.Join(m.mnt, "p.yaml"), []byte("target_copies: 1_per_region\nregions: [Perth]\n"), 0o644))
	out, err = runLis("policy", "check", filepath.Join(m.mnt, "p.yaml"))
	require.Error(t, err)
	require.Contains(t, out, `region names are lower-case letters`)
	require.NoFileExists(t, pf)
}

// TestE2EPDUnreachable: a metaservice pointed at a TiKV cluster whose PD
// does not answer fails within kv.PDConnectTimeout with one message that
// names the endpoints tried, not a flood of warnings.
func TestE2EPDUnreachable(t *testing.T) {
	needE2E(t)
	dead := freePort(t)
	start := time.Now()
	out, err := runLis("metaservice", "--meta-url", "tikv://"+dead+"/vol", "--unix", filepath.Join(shortTempDir(t), "m.sock"))
	require.Error(t, err)
	require.Less(t, time.Since(start), 30*time.Second, "bounded")
	require.Contains(t, out, "no PD endpoint answered within 10s: tried "+dead+" (")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, "one message:\n%s", out)
}

// TestE2ESparseFiles: a sparse file's st_blocks counts the blocks that
// hold data, not its size, so du agrees with the source of a cp --sparse
// and of a tar -S round trip, and a truncation gives blocks back.
func TestE2ESparseFiles(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	src := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(src)
	require.NoError(t, err)
	for _, off := range []int64{0, 5 << 20, 200 << 20} { // 64 KiB-aligned data, as the dataserver's blocks
		_, err := f.WriteAt(randomData(uint64(off), 128<<10), off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Truncate(256<<20))
	require.NoError(t, f.Close())
	du := func(p string) string {
		out, err := exec.Command("du", "-B1", p).CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Fields(string(out))[0]
	}
	want := du(src)
	require.Equal(t, strconv.Itoa(3*128<<10), want, "the source holds 384 KiB of a 256 MiB file")

	dst := filepath.Join(m.mnt, "sparse.img")
	out, err := exec.Command("cp", "--sparse=always", src, dst).CombinedOutput()
	require.NoError(t, err, string(out))
	st, err := os.Stat(dst)
	require.NoError(t, err)
	require.Equal(t, int64(256<<20), st.Size())
	require.Equal(t, want, du(dst), "du of the copy on Lis")

	back := t.TempDir()
	tarball := filepath.Join(back, "s.tar")
	out, err = exec.Command("tar", "-cSf", tarball, "-C", m.mnt, "sparse.img").CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.Mkdir(filepath.Join(m.mnt, "x"), 0o755))
	out, err = exec.Command("tar", "-xSf", tarball, "-C", filepath.Join(m.mnt, "x")).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, want, du(filepath.Join(m.mnt, "x", "sparse.img")), "du after a tar -S round trip")

	require.NoError(t, os.Truncate(dst, 1<<20))
	require.Equal(t, strconv.Itoa(128<<10), du(dst), "a truncation gives the blocks past it back")
}

// TestE2ECrashLeftoverSpace: data written but never committed when the
// mount daemon is killed does not hold the volume's space after the next
// mount: what no file holds is given back at the start.
func TestE2ECrashLeftoverSpace(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	f, err := os.Create(filepath.Join(m.mnt, "big"))
	require.NoError(t, err)
	buf := randomData(12, 1<<20)
	for range 96 {
		_, err := f.Write(buf)
		require.NoError(t, err)
	}
	killMountDaemon(t, m.mnt) // before its first commit, 3 s after the first write
	f.Close()

	out, err := runLis("mount", "--data-dir", m.dataDir, m.mnt)
	require.NoError(t, err, "%s\n%s", out, daemonLog(m.mnt))
	var size int64 // the file may be lost with the metadata not yet on disk
	if st, err := os.Stat(filepath.Join(m.mnt, "big")); err == nil {
		size = st.Size()
	} else {
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	c, err := dataserver.Dial("unix:" + filepath.Join(m.dataDir, "data.sock"))
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		s, err := c.Stat(context.Background())
		require.NoError(t, err)
		return s.LogicalBytes <= size+1<<20
	}, 30*time.Second, 100*time.Millisecond, "the dataserver holds no more than the file's %d bytes", size)
	if size == 0 {
		require.Contains(t, daemonLog(m.mnt), "reclaiming chunks that no file holds")
	}
}

// killMountDaemon kills the daemon serving mnt with SIGKILL and waits
// until it is gone.
func killMountDaemon(t *testing.T, mnt string) {
	t.Helper()
	pidText, err := os.ReadFile(runFile(mnt, "pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond)
}
