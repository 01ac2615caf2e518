package chunkstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/journal/diskfs"
)

// TestQuarantine: a persisted and quarantined chunk leaves the store
// with its state as of the quarantine (written after the last checkpoint
// included), and its files in the quarantine directory read back whole.
func TestQuarantine(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	c, m := quarantineFixture(t, s, r)

	require.NoError(t, s.Persist(c))
	require.NoError(t, s.Quarantine(42, c, 1000))
	require.True(t, s.Quarantined(42, 1000))
	ids, err := s.List()
	require.NoError(t, err)
	require.Empty(t, ids, "the store no longer knows the chunk")
	q, err := s.QuarantinedCopies()
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.Equal(t, uint64(42), q[0].Chunk)
	require.Equal(t, uint64(8), q[0].Version)
	requireStandsAlone(t, q[0].Path, m)

	require.NoError(t, s.Quarantine(42, nil, 1000), "done already: a replay finds nothing to do")
	require.NoError(t, s.Quarantine(43, nil, 1001), "a chunk with no files: nothing to move")
	q, err = s.QuarantinedCopies()
	require.NoError(t, err)
	require.Len(t, q, 1)
}

// TestQuarantineCutShort: a quarantine that fails halfway (its data file
// not yet linked) leaves the chunk whole where it was, and the same
// quarantine run again finishes it.
func TestQuarantineCutShort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var rules diskfs.Rules
	s, err := Open(t.TempDir(), Options{FS: diskfs.Wrap(diskfs.OS, &rules)})
	require.NoError(t, err)
	c, m := quarantineFixture(t, s, r)
	require.NoError(t, s.Persist(c))
	rules.Add(diskfs.Rule{Op: diskfs.OpLink, Contains: ".dat", Times: 1, Err: syscall.EIO})
	require.ErrorIs(t, s.Quarantine(42, c, 7), syscall.EIO)
	require.False(t, s.Quarantined(42, 7))

	c, err = s.Open(42)
	require.NoError(t, err)
	require.Equal(t, uint64(8), c.Meta().Version, "the chunk is whole where it was")
	require.NoError(t, s.Quarantine(42, c, 7))
	q, err := s.QuarantinedCopies()
	require.NoError(t, err)
	require.Len(t, q, 1)
	requireStandsAlone(t, q[0].Path, m)
}

// quarantineFixture writes chunk 42 at version 8, partly after a
// checkpoint, and returns it with its content.
func quarantineFixture(t *testing.T, s *Store, r *rand.Rand) (*Chunk, model) {
	c, err := s.Open(42)
	require.NoError(t, err)
	var m model
	p := randBytes(r, 3*BlockSize+7)
	require.NoError(t, c.WriteAt(p, 0))
	m.write(p, 0)
	c.SetMeta(Meta{Version: 7})
	require.NoError(t, s.Checkpoint([]Snapshot{mustSnapshot(t, c)}))
	p = randBytes(r, 100)
	require.NoError(t, c.WriteAt(p, BlockSize))
	m.write(p, BlockSize)
	c.SetMeta(Meta{Version: 8})
	return c, m
}

// requireStandsAlone checks that a quarantined pair is a chunk store of
// its own: its checksums vouch for its data, which is m.
func requireStandsAlone(t *testing.T, dataPath string, m model) {
	alone := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(alone, "2a"), 0o755))
	stem := strings.TrimSuffix(dataPath, ".dat")
	for _, ext := range []string{".dat", ".meta"} {
		b, err := os.ReadFile(stem + ext)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(alone, "2a", "000000000000002a"+ext), b, 0o644))
	}
	s, err := Open(alone, Options{})
	require.NoError(t, err)
	c, err := s.Open(42)
	require.NoError(t, err)
	defer c.Close()
	got := make([]byte, len(m))
	require.NoError(t, c.ReadAt(got, 0))
	require.Equal(t, []byte(m), got)
}
