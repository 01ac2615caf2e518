package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2EMoreFilesThanDescriptors: a volume holds more non-empty files
// than its daemon may have descriptors open, keeps serving while they are
// written, and mounts again afterwards. The daemon runs under a small
// RLIMIT_NOFILE so that the test needs only a few thousand files to show
// what a default limit shows at tens of thousands.
func TestE2EMoreFilesThanDescriptors(t *testing.T) {
	needE2E(t)
	prlimit := needTool(t, "prlimit")
	const limit, files = 1024, 1500
	base := publicTempDir(t)
	data, mnt := filepath.Join(base, "data"), filepath.Join(base, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	mountLimited := func() {
		out, err := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit), "--",
			lisBin, "mount", "--data-dir", data, mnt).CombinedOutput()
		require.NoError(t, err, "lis mount under RLIMIT_NOFILE %d: %s\n%s", limit, out, daemonLog(mnt))
	}
	mountLimited()
	t.Cleanup(func() { unmountForCleanup(t, mnt) })

	content := func(i int) []byte { return []byte(fmt.Sprintf("file %d of %d\n", i, files)) }
	for i := 0; i < files; i++ {
		p := filepath.Join(mnt, fmt.Sprintf("f%04d", i))
		require.NoError(t, os.WriteFile(p, content(i), 0o644), "file %d of %d (daemon limit %d descriptors)\n%s",
			i, files, limit, daemonLog(mnt))
	}
	out, err := runLis("umount", mnt)
	require.NoError(t, err, "lis umount: %s", out)
	mountLimited()
	for i := 0; i < files; i += 97 {
		got, err := os.ReadFile(filepath.Join(mnt, fmt.Sprintf("f%04d", i)))
		require.NoError(t, err)
		require.Equal(t, content(i), got)
	}
}
