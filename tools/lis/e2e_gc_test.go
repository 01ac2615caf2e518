package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/rpc"
)

// TestE2EGarbageCollection: chunk files no record refers to (planted on a
// dataserver while it was stopped, still naming a replica, so they spread
// there as a returning dataserver's leftovers would) are listed by lis gc
// --dry-run, and only they; a grace period keeps recently changed ones;
// lis gc deletes them everywhere; the files of the volume are untouched.
func TestE2EGarbageCollection(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	data := randomData(41, 5<<20)
	path := filepath.Join(sites["perth"].mnt, "f")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	rec := chunkRecords(t, mc, path)[0]
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)

	perth := sites["perth"].ds
	perth.stop(t)
	orphans := []uint64{0xdead01, 0xdead02}
	for _, id := range orphans {
		plantChunk(t, filepath.Join(perth.dir, "chunks"), uint64(rec.ID), id)
	}
	back := startDataserver(t, perth.dir, "perth-1", "--site", "perth", "--region", "r-perth", "--meta", meta.addr(),
		"--listen", perth.tcp) // its registered address: a live record refuses another
	require.Eventually(t, func() bool { return listDataservers(t, meta.addr())["perth-1"].Addr == back.tcp },
		30*time.Second, 100*time.Millisecond)

	// The planted chunks still name london-1 as their replica, as a
	// returning dataserver's leftovers would: they spread there too.
	london := sites["london"].ds
	require.Eventually(t, func() bool { return holdsChunk(t, london, orphans[0]) && holdsChunk(t, london, orphans[1]) },
		30*time.Second, 100*time.Millisecond)

	out, err := runLis("gc", "--meta", meta.addr(), "--dry-run", "--grace", "1h")
	require.NoError(t, err, out)
	require.Contains(t, out, "0 garbage chunk(s)", "the grace period keeps fresh chunks")
	out, err = runLis("gc", "--meta", meta.addr(), "--dry-run", "--grace", "0s")
	require.NoError(t, err, out)
	t.Logf("lis gc --dry-run:\n%s", out)
	require.Contains(t, out, "4 garbage chunk(s)")
	for _, id := range orphans {
		for _, ds := range []*dataserverProc{back, london} {
			require.Regexp(t, fmt.Sprintf(`(perth|london)-1\s+%016x`, id), out)
			require.True(t, holdsChunk(t, ds, id), "a dry run deleted chunk %x", id)
		}
	}
	require.NotContains(t, out, fmt.Sprintf("%016x", uint64(rec.ID)))

	out, err = runLis("gc", "--meta", meta.addr(), "--grace", "0s")
	require.NoError(t, err, out)
	require.Contains(t, out, "4 garbage chunk(s)")
	require.Contains(t, out, "queued for deletion")
	require.Eventually(t, func() bool {
		for _, ds := range []*dataserverProc{back, london} {
			if holdsChunk(t, ds, orphans[0]) || holdsChunk(t, ds, orphans[1]) {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "the garbage chunks were not deleted")
	require.True(t, holdsChunk(t, back, uint64(rec.ID)))
	sites["perth"] = site{ds: back, mnt: sites["perth"].mnt}
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)
	requireContent(t, path, data, "read after lis gc")
	out, err = runLis("gc", "--meta", meta.addr(), "--dry-run", "--grace", "0s")
	require.NoError(t, err, out)
	require.Contains(t, out, "0 garbage chunk(s)")
}

// plantChunk copies chunk from's files in a chunk store to chunk to's.
func plantChunk(t *testing.T, store string, from, to uint64) {
	for _, ext := range []string{"dat", "meta"} {
		src := filepath.Join(store, fmt.Sprintf("%02x", from&0xff), fmt.Sprintf("%016x.%s", from, ext))
		dst := filepath.Join(store, fmt.Sprintf("%02x", to&0xff), fmt.Sprintf("%016x.%s", to, ext))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		in, err := os.Open(src)
		require.NoError(t, err)
		o, err := os.Create(dst)
		require.NoError(t, err)
		_, err = io.Copy(o, in)
		require.NoError(t, err)
		in.Close()
		require.NoError(t, o.Close())
	}
}
