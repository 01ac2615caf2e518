package dataserver

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDiskSpace: writes are refused, with the figures, once they would eat
// into the reserve; the estimate between statfs reads counts what was
// taken, and is replaced by a fresh read after spaceRefresh.
func TestDiskSpace(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	free := int64(st.Bavail) * st.Frsize
	require.Greater(t, free, int64(64<<20), "the test needs some free space")

	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }

	d, err := newDiskSpace(dir, free+(1<<30), clock)
	require.NoError(t, err)
	err = d.take(1)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorContains(t, err, "kept for checkpoints")

	d, err = newDiskSpace(dir, -1, clock)
	require.NoError(t, err)
	require.NoError(t, d.take(1<<62), "a negative reserve checks nothing")

	d, err = newDiskSpace(dir, 0, clock)
	require.NoError(t, err)
	require.Positive(t, d.reserve)
	require.LessOrEqual(t, d.reserve, int64(maxReserveSpace))

	// Far from the limit the estimate is used: taking all but the reserve
	// (and a margin for other writers meanwhile) works once, then the
	// next write finds too little left and reads statfs again.
	d, err = newDiskSpace(dir, 1<<20, clock)
	require.NoError(t, err)
	require.NoError(t, d.take(1))
	at := d.at
	now = now.Add(time.Millisecond)
	require.NoError(t, d.take(1))
	require.Equal(t, at, d.at, "no statfs within spaceRefresh when far from the limit")
	big := d.free - 3*d.reserve
	require.NoError(t, d.take(big))
	require.Equal(t, at, d.at)
	now = now.Add(time.Millisecond)
	err = d.take(2 * d.reserve)
	require.Equal(t, now, d.at, "near the limit statfs is read again")
	require.NoError(t, err, "the disk still has the space the estimate had counted as taken")
	now = now.Add(2 * spaceRefresh)
	require.NoError(t, d.take(1))
	require.Equal(t, now, d.at, "a stale estimate is refreshed")
}
