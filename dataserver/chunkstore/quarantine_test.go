package chunkstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuarantine: a quarantined chunk leaves the store with its state as
// of the quarantine (written after the last checkpoint included), and its
// files in the quarantine directory still read back whole.
func TestQuarantine(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	c, err := s.Open(42)
	require.NoError(t, err)
	var m model
	p := randBytes(r, 3*BlockSize+7)
	require.NoError(t, c.WriteAt(p, 0))
	m.write(p, 0)
	c.SetMeta(Meta{Version: 7})
	require.NoError(t, s.Checkpoint([]Snapshot{mustSnapshot(t, c)}))
	p = randBytes(r, 100)
	require.NoError(t, c.WriteAt(p, BlockSize)) // after the checkpoint
	m.write(p, BlockSize)
	c.SetMeta(Meta{Version: 8})

	require.NoError(t, s.Quarantine(42, c))
	ids, err := s.List()
	require.NoError(t, err)
	require.Empty(t, ids, "the store no longer knows the chunk")
	q, err := s.Quarantined()
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.Equal(t, uint64(42), q[0].Chunk)
	require.Equal(t, uint64(8), q[0].Version)
	data, err := os.ReadFile(q[0].Path)
	require.NoError(t, err)
	require.Equal(t, []byte(m), data)

	// The quarantined pair is a chunk store of its own: its checksums
	// vouch for its data.
	alone := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(alone, "2a"), 0o755))
	stem := strings.TrimSuffix(q[0].Path, ".dat")
	for _, ext := range []string{".dat", ".meta"} {
		require.NoError(t, os.Rename(stem+ext, filepath.Join(alone, "2a", "000000000000002a"+ext)))
	}
	s2, err := Open(alone, Options{})
	require.NoError(t, err)
	c2, err := s2.Open(42)
	require.NoError(t, err)
	defer c2.Close()
	got := make([]byte, len(m))
	require.NoError(t, c2.ReadAt(got, 0))
	require.Equal(t, []byte(m), got)

	require.NoError(t, s.Quarantine(43, nil), "a chunk with no files: nothing to move")
}
