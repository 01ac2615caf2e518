package journal

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/journal/diskfs"
)

// testOptions returns options for dir with background sync disabled, so
// tests decide when records become durable.
func testOptions(dir string) Options {
	return Options{
		Dir:          dir,
		SyncInterval: -1,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func openTest(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(opts)
	require.NoError(t, err)
	return l
}

// crash abandons l the way a killed process would: no sync, no state save,
// file descriptors dropped. What reached the page cache stays in the files.
func crash(t testing.TB, l *Log) {
	t.Helper()
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	l.closed = true
	files := []diskfs.File{l.segs[len(l.segs)-1].f}
	for _, s := range l.unsynced {
		files = append(files, s.f)
	}
	l.broadcastLocked()
	l.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
	for _, c := range l.cursors {
		c.closeReader()
	}
	require.NoError(t, l.lock.Close())
}

// payload returns deterministic test data for a record number.
func payload(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	b := make([]byte, r.IntN(300))
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	return append([]byte(fmt.Sprintf("record-%d:", i)), b...)
}

// appendN appends payload(from..from+n-1) and returns their LSNs.
func appendN(t testing.TB, l *Log, from, n int) []LSN {
	t.Helper()
	lsns := make([]LSN, 0, n)
	for i := from; i < from+n; i++ {
		lsn, err := l.Append(payload(i))
		require.NoError(t, err)
		lsns = append(lsns, lsn)
	}
	return lsns
}

func readAll(t testing.TB, l *Log, from LSN) []Record {
	t.Helper()
	var recs []Record
	require.NoError(t, l.ReadFrom(from, func(r Record) error {
		recs = append(recs, r)
		return nil
	}))
	return recs
}

// requirePayloads checks that recs are LSNs first.. with payload(i) for
// record i = LSN-1+offset.
func requirePayloads(t testing.TB, recs []Record, first LSN, n int) {
	t.Helper()
	require.Len(t, recs, n)
	for i, r := range recs {
		require.Equal(t, first+LSN(i), r.LSN)
		require.Equal(t, payload(int(r.LSN)), r.Data, "LSN %d", r.LSN)
	}
}

// segmentFiles returns the segment file paths of dir in LSN order.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	firsts, err := listSegments(logDir{fs: diskfs.OS, path: dir})
	require.NoError(t, err)
	paths := make([]string, len(firsts))
	for i, f := range firsts {
		paths[i] = filepath.Join(dir, segmentName(f))
	}
	return paths
}

// diskSize sums the sizes of the segment files of dir.
func diskSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segmentFiles(t, dir) {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		n += fi.Size()
	}
	return n
}

// recordOffset returns the file and offset of record lsn.
func recordOffset(t testing.TB, dir string, lsn LSN) (string, int64) {
	t.Helper()
	for _, p := range segmentFiles(t, dir) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		off := int64(segHeaderSize)
		for off < int64(len(b)) {
			h, _, n, err := decodeRecord(b[off:])
			require.NoError(t, err)
			if h.lsn == lsn {
				return p, off
			}
			off += int64(n)
		}
	}
	t.Fatalf("LSN %d not found", lsn)
	return "", 0
}

// waitFor polls cond until it holds. It has no deadline of its own: the
// test binary's -timeout is the bound, so slow machines cannot flake it.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}
