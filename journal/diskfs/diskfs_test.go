package diskfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWritevAtAndReadBack(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := OS.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	bufs := [][]byte{[]byte("ab"), nil, []byte("cde")}
	n, err := f.WritevAt(bufs, 3)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = f.WritevAt([][]byte{nil, {}}, 0)
	require.NoError(t, err, "writing nothing is no short write")
	require.Zero(t, n)
	require.NoError(t, f.SyncData())
	b, err := ReadFile(OS, p)
	require.NoError(t, err)
	require.Equal(t, "\x00\x00\x00abcde", string(b))
}

func TestRulesFailFromTheNthOnceOrForGood(t *testing.T) {
	var rs Rules
	rs.Add(Rule{Op: OpSync, Contains: "journal", After: 1, Times: 2, Err: syscall.EIO})
	rs.Add(Rule{Op: OpRead, Err: syscall.EIO})
	require.NoError(t, rs.Inject(OpSync, "/d/journal/1"), "the first is let through")
	require.ErrorIs(t, rs.Inject(OpSync, "/d/journal/1"), syscall.EIO)
	require.ErrorIs(t, rs.Inject(OpSync, "/d/journal/1"), syscall.EIO)
	require.NoError(t, rs.Inject(OpSync, "/d/journal/1"), "two failures, then through again")
	require.NoError(t, rs.Inject(OpSync, "/d/chunks/1"), "another path")
	require.ErrorIs(t, rs.Inject(OpRead, "/any"), syscall.EIO)
	require.ErrorIs(t, rs.Inject(OpRead, "/any"), syscall.EIO, "for good")
	require.Equal(t, 4, rs.Hits())
	rs.Clear()
	require.NoError(t, rs.Inject(OpRead, "/any"))
}

func TestFaultyTearsWritesAndFailsSyncs(t *testing.T) {
	var rs Rules
	fs := Wrap(OS, &rs)
	p := filepath.Join(t.TempDir(), "f")
	f, err := fs.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	rs.Add(Rule{Op: OpWrite, Times: 1, Err: &TornError{Err: syscall.ENOSPC}})
	n, err := f.WritevAt([][]byte{[]byte("abc"), []byte("defgh")}, 0)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.Equal(t, 4, n)
	b, err := ReadFile(OS, p)
	require.NoError(t, err)
	require.Equal(t, "abcd", string(b), "half of the write reached the file")

	rs.Add(Rule{Op: OpSync, Err: syscall.EIO})
	err = f.SyncData()
	require.ErrorIs(t, err, syscall.EIO)
	var pe *os.PathError
	require.True(t, errors.As(err, &pe) && pe.Path == p, "the error names the file: %v", err)
	require.ErrorIs(t, SyncDir(fs, filepath.Dir(p)), syscall.EIO)
}

func TestWriteFileAtomic(t *testing.T) {
	var rs Rules
	fs := Wrap(OS, &rs)
	p := filepath.Join(t.TempDir(), "state")
	require.NoError(t, WriteFileAtomic(fs, p, []byte("one")))
	rs.Add(Rule{Op: OpSync, Err: syscall.EIO})
	require.ErrorIs(t, WriteFileAtomic(fs, p, []byte("two")), syscall.EIO)
	b, err := ReadFile(OS, p)
	require.NoError(t, err)
	require.Equal(t, "one", string(b), "a failed replacement leaves the old content")
	_, err = os.Stat(p + ".tmp")
	require.True(t, os.IsNotExist(err), "no temporary file is left")
}
