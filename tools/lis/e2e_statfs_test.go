package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestE2EStatfsIsTruthful: df of an embedded volume reports the backing
// filesystem's size, and its free space less the dataserver's reserve,
// not a configured size less what the volume used.
func TestE2EStatfsIsTruthful(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	var lis, disk unix.Statfs_t
	require.NoError(t, unix.Statfs(m.mnt, &lis))
	require.NoError(t, unix.Statfs(m.dataDir, &disk))
	size, avail := int64(disk.Blocks)*disk.Frsize, int64(disk.Bavail)*disk.Frsize
	reserve := min(int64(256<<20), size/20)
	lisSize, lisAvail := int64(lis.Blocks)*lis.Frsize, int64(lis.Bavail)*lis.Frsize
	require.InDelta(t, size, lisSize, float64(size)/100, "size: the backing filesystem's")
	// Other tests may write meanwhile: a loose bound, far below the gap
	// between the disk's free space and its size that df once reported.
	const slack = 2 << 30
	require.InDelta(t, avail-reserve, lisAvail, slack, "free: the backing filesystem's (%d) less the reserve (%d)", avail, reserve)
}
