package volume

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func mountForTest(t *testing.T, dataDir string) (*Volume, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root here")
	}
	mnt := t.TempDir()
	v, err := MountEmbedded(context.Background(), Config{DataDir: dataDir, MountPoint: mnt})
	require.NoError(t, err)
	return v, mnt
}

func TestEmbeddedMountRoundTrip(t *testing.T) {
	dataDir := t.TempDir()
	v, mnt := mountForTest(t, dataDir)

	payload := make([]byte, 3<<20+12345)
	rand.New(rand.NewSource(1)).Read(payload)
	p := filepath.Join(mnt, "dir", "file.bin")
	require.NoError(t, os.Mkdir(filepath.Join(mnt, "dir"), 0o755))
	require.NoError(t, os.WriteFile(p, payload, 0o644))
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got), "read back what was written")
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, int64(len(payload)), st.Size())

	require.NoError(t, os.Rename(p, filepath.Join(mnt, "moved.bin")))
	require.NoError(t, os.Symlink("moved.bin", filepath.Join(mnt, "link")))
	target, err := os.Readlink(filepath.Join(mnt, "link"))
	require.NoError(t, err)
	require.Equal(t, "moved.bin", target)
	_, err = os.Stat(p)
	require.ErrorIs(t, err, syscall.ENOENT)
	ents, err := os.ReadDir(mnt)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"dir", "moved.bin", "link"}, names)

	// Truncate into the middle of the data and grow again: the tail reads
	// as zeros.
	require.NoError(t, os.Truncate(filepath.Join(mnt, "moved.bin"), 1000))
	require.NoError(t, os.Truncate(filepath.Join(mnt, "moved.bin"), 5000))
	got, err = os.ReadFile(filepath.Join(mnt, "moved.bin"))
	require.NoError(t, err)
	require.Equal(t, payload[:1000], got[:1000])
	require.Equal(t, make([]byte, 4000), got[1000:])

	require.NoError(t, v.Unmount(context.Background()))

	// Everything is there after a remount.
	v, mnt = mountForTest(t, dataDir)
	defer v.Unmount(context.Background())
	got, err = os.ReadFile(filepath.Join(mnt, "moved.bin"))
	require.NoError(t, err)
	require.Equal(t, 5000, len(got))
	require.Equal(t, payload[:1000], got[:1000])

	// A second mount of the same volume is refused, clearly.
	_, err = MountEmbedded(context.Background(), Config{DataDir: dataDir, MountPoint: t.TempDir()})
	require.ErrorContains(t, err, "in use")
}
