package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2EShardRootRemoval: `lis shard create` records the root's path in
// the volume; `rm -rf` of the root retires the shard, so `lis shard list`
// no longer shows it, the directory made again roots one new shard, and
// `lis fsck` finds nothing wrong.
func TestE2EShardRootRemoval(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	meta := "--meta=unix:" + filepath.Join(m.dataDir, "meta.sock")
	root := filepath.Join(m.mnt, "perth")
	shardLis := func(args ...string) string {
		t.Helper()
		out, err := runLis(append(args, meta)...)
		require.NoError(t, err, "lis %v: %s", args, out)
		return out
	}
	require.NoError(t, os.Mkdir(root, 0o755))
	require.Contains(t, shardLis("shard", "create", root), "/perth in the volume")
	require.NoError(t, os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644))
	require.Equal(t, 1, strings.Count(shardLis("shard", "list"), " /perth "), "listed by its path in the volume")

	require.NoError(t, os.RemoveAll(root))
	list := shardLis("shard", "list")
	require.NotContains(t, list, "perth", "a removed root's shard is not listed")
	require.Contains(t, shardLis("shard", "list", "--all"), "(removed; made at /perth)")

	require.NoError(t, os.Mkdir(root, 0o755))
	shardLis("shard", "create", root)
	require.Equal(t, 1, strings.Count(shardLis("shard", "list"), " /perth "), "one live shard at /perth")
	out, err := runLis("fsck", m.mnt)
	require.NoError(t, err, "lis fsck: %s", out)
	require.Contains(t, out, "0 problems")
}
