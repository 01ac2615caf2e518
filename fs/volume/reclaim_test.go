package volume

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chunkFiles counts the files of the volume's chunk store.
func chunkFiles(t *testing.T, dataDir string) int {
	n := 0
	err := filepath.WalkDir(filepath.Join(dataDir, "data", "chunks"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	require.NoError(t, err)
	return n
}

// TestDeletedChunksAreReclaimed: the metaservice deletes the chunks of
// deleted files from the embedded volume's dataserver, as it does from a
// cluster's.
func TestDeletedChunksAreReclaimed(t *testing.T) {
	dataDir := t.TempDir()
	v, mnt := mountForTest(t, dataDir)
	defer v.Unmount(context.Background())
	before := chunkFiles(t, dataDir)
	for i := 0; i < 20; i++ {
		require.NoError(t, os.WriteFile(filepath.Join(mnt, fmt.Sprint(i)), []byte("some data"), 0o644))
	}
	require.Eventually(t, func() bool { return chunkFiles(t, dataDir) > before }, 10*time.Second, 50*time.Millisecond,
		"the writes reach chunk files")
	for i := 0; i < 20; i++ {
		require.NoError(t, os.Remove(filepath.Join(mnt, fmt.Sprint(i))))
	}
	require.Eventually(t, func() bool { return chunkFiles(t, dataDir) == before }, 30*time.Second, 100*time.Millisecond,
		"deleted files' chunks are removed from the dataserver")
	dels, err := v.meta.PendingDeletions(context.Background(), 10)
	require.NoError(t, err)
	require.Empty(t, dels, "and leave the deletion queue")
}
