package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildCrashed makes a log whose records 1..synced were synced and
// synced+1..total only appended, then "crashes" it. It returns the dir.
func buildCrashed(t *testing.T, opts Options, synced, total int) string {
	t.Helper()
	l := openTest(t, opts)
	appendN(t, l, 1, synced)
	require.NoError(t, l.Sync(context.Background(), LSN(synced)))
	appendN(t, l, synced+1, total-synced)
	crash(t, l)
	return opts.Dir
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestTornTail damages the un-synced tail (records 11..20) in the ways a
// crash or power cut can, and checks that recovery keeps exactly the
// records before the damage and that the log goes on from there.
func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		keep   int // records expected to survive
	}{
		{"intact", func(*testing.T, string) {}, 20},
		{"truncated in header", func(t *testing.T, dir string) {
			p, off := recordOffset(t, dir, 15)
			require.NoError(t, os.Truncate(p, off+10))
		}, 14},
		{"truncated in payload", func(t *testing.T, dir string) {
			p, off := recordOffset(t, dir, 20)
			require.NoError(t, os.Truncate(p, off+recordHeaderSize+3))
		}, 19},
		{"flipped payload byte", func(t *testing.T, dir string) {
			p, off := recordOffset(t, dir, 12)
			flipByte(t, p, off+recordHeaderSize+1)
		}, 11},
		{"flipped header byte", func(t *testing.T, dir string) {
			p, off := recordOffset(t, dir, 18)
			flipByte(t, p, off+9)
		}, 17},
		{"garbage after end", func(t *testing.T, dir string) {
			files := segmentFiles(t, dir)
			appendBytes(t, files[len(files)-1], []byte("this is not a record, not at all"))
		}, 20},
		{"zeros after end", func(t *testing.T, dir string) {
			files := segmentFiles(t, dir)
			appendBytes(t, files[len(files)-1], make([]byte, 4096))
		}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildCrashed(t, testOptions(t.TempDir()), 10, 20)
			tc.damage(t, dir)
			l := openTest(t, testOptions(dir))
			defer l.Close()
			require.Equal(t, LSN(tc.keep), l.LastLSN())
			require.Equal(t, LSN(tc.keep), l.DurableLSN())
			requirePayloads(t, readAll(t, l, 1), 1, tc.keep)
			require.Equal(t, diskSize(t, dir), l.Size())
			lsn, err := l.Append(payload(tc.keep + 1))
			require.NoError(t, err)
			require.Equal(t, LSN(tc.keep+1), lsn)
			requirePayloads(t, readAll(t, l, 1), 1, tc.keep+1)
		})
	}
}

func TestTornTailAcrossSegments(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.SegmentSize = 2048
	dir := buildCrashed(t, opts, 10, 60)
	files := segmentFiles(t, dir)
	require.Greater(t, len(files), 3)
	// A power cut lost the end of a segment whose successors still exist:
	// the un-synced records there carry no proof, so all of it is a tail.
	p, off := recordOffset(t, dir, 30)
	require.NoError(t, os.Truncate(p, off+5))
	l := openTest(t, opts)
	defer l.Close()
	require.Equal(t, LSN(29), l.LastLSN())
	rec := l.Recovered()
	require.Equal(t, filepath.Base(p), rec.TruncatedSegment)
	require.Equal(t, off, rec.TruncatedAt)
	require.NotEmpty(t, rec.RemovedSegments)
	requirePayloads(t, readAll(t, l, 1), 1, 29)
	require.Equal(t, diskSize(t, dir), l.Size())
}

func TestTornSegmentHeader(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.SegmentSize = 2048
	dir := buildCrashed(t, opts, 30, 30)
	// A crash right after a roll created the next segment file.
	next := filepath.Join(dir, segmentName(31))
	require.NoError(t, os.WriteFile(next, encodeSegHeader(31)[:7], 0o644))
	l := openTest(t, opts)
	defer l.Close()
	require.Equal(t, LSN(30), l.LastLSN())
	lsn, err := l.Append(payload(31))
	require.NoError(t, err)
	require.Equal(t, LSN(31), lsn)
	requirePayloads(t, readAll(t, l, 1), 1, 31)
}

// TestAcknowledgedDamageIsReported: damage to records known to have been
// durable must not be cut away silently.
func TestAcknowledgedDamageIsReported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		build    func(t *testing.T, dir string) Options
		damage   func(t *testing.T, dir string) (string, int64)
		evidence string
	}{
		{"flipped synced record, later records prove it", func(t *testing.T, dir string) Options {
			buildCrashed(t, testOptions(dir), 10, 20)
			return testOptions(dir)
		}, func(t *testing.T, dir string) (string, int64) {
			p, off := recordOffset(t, dir, 5)
			flipByte(t, p, off+recordHeaderSize+2)
			return p, off
		}, "was appended after LSN 10 was durable"},
		{"older segment", func(t *testing.T, dir string) Options {
			opts := testOptions(dir)
			opts.SegmentSize = 2048
			l := openTest(t, opts)
			appendN(t, l, 1, 60)
			require.NoError(t, l.Close())
			return opts
		}, func(t *testing.T, dir string) (string, int64) {
			p, off := recordOffset(t, dir, 3)
			flipByte(t, p, off+recordHeaderSize)
			return p, off
		}, "state file recorded LSN 60"},
		{"missing middle segment", func(t *testing.T, dir string) Options {
			opts := testOptions(dir)
			opts.SegmentSize = 2048
			l := openTest(t, opts)
			appendN(t, l, 1, 60)
			require.NoError(t, l.Close())
			return opts
		}, func(t *testing.T, dir string) (string, int64) {
			files := segmentFiles(t, dir)
			require.NoError(t, os.Remove(files[1]))
			fi, err := os.Stat(files[0])
			require.NoError(t, err)
			return files[0], fi.Size()
		}, "state file recorded LSN 60"},
		{"last synced record, saved in the background", func(t *testing.T, dir string) Options {
			opts := testOptions(dir)
			opts.SyncInterval = 2e6 // 2ms: sync and state saves run in the background
			l := openTest(t, opts)
			appendN(t, l, 1, 10)
			waitFor(t, func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				return l.saved == 10
			})
			crash(t, l)
			return opts
		}, func(t *testing.T, dir string) (string, int64) {
			p, off := recordOffset(t, dir, 10)
			require.NoError(t, os.Truncate(p, off+30))
			return p, off
		}, "state file recorded LSN 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := tc.build(t, dir)
			path, off := tc.damage(t, dir)
			_, err := Open(opts)
			var ce *CorruptError
			require.True(t, errors.As(err, &ce), "got %v", err)
			require.Equal(t, filepath.Base(path), ce.Segment)
			require.Equal(t, off, ce.Offset)
			require.Contains(t, err.Error(), ce.Segment)
			require.Contains(t, ce.Evidence, tc.evidence)
			// Nothing was cut: the files are as the damage left them.
			_, err = Open(opts)
			require.True(t, errors.As(err, &ce))
		})
	}
}
