package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/rpc"
)

// TestE2EScrubFindsFlippedBytes: bytes flipped in a replica's chunk file
// on disk, which no reader touches, are found by that dataserver's
// scrubber within a pass; lis status names the damaged copy and its block
// and exits 2; the primary then sends that block again, and the copy is
// whole.
func TestE2EScrubFindsFlippedBytes(t *testing.T) {
	needE2E(t)
	meta, sites := startSitesWithDS(t, nil, []string{"--scrub-rate", "200MB/s"}, "perth", "london")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	path := filepath.Join(sites["perth"].mnt, "f")
	require.NoError(t, os.WriteFile(path, randomData(61, 4<<20), 0o644))
	rec := chunkRecords(t, mc, path)[0]
	require.Equal(t, []string{"london", "perth"}, copySites(rec))
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)

	london := sites["london"].ds
	data := flipBytes(t, london.dir, uint64(rec.ID), 17<<16+100) // in block 17

	var r *statusReport
	require.Eventually(t, func() bool {
		r = statusAt(t, meta.addr())
		return len(r.Damaged) > 0
	}, 30*time.Second, 200*time.Millisecond, "the scrubber never reported the flipped bytes")
	require.Len(t, r.Damaged, 1, "%+v", r.Damaged)
	d := r.Damaged[0]
	require.Equal(t, "london-1", d.Dataserver)
	require.Equal(t, fmt.Sprintf("%x", uint64(rec.ID)), d.Chunk)
	require.True(t, slices.Contains(d.Blocks, 17), "blocks %v", d.Blocks)
	require.False(t, r.Healthy)
	text, err := runLis("status", "--meta", meta.addr())
	require.Error(t, err)
	require.Contains(t, text, "DAMAGED: chunk "+d.Chunk+" on london-1 has 1 bad block(s)")
	t.Logf("lis status:\n%s", text)

	// The primary sends the bad block again: the copy is whole, and the
	// status clean.
	require.Eventually(t, func() bool { return len(statusAt(t, meta.addr()).Damaged) == 0 },
		60*time.Second, 200*time.Millisecond, "the damaged copy was never repaired")
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, london)
	requireUnflipped(t, data, 17<<16+100)

	// A damaged primary copy: the chunk moves to london's current copy,
	// and perth's is repaired from it as a replica.
	data = flipBytes(t, sites["perth"].ds.dir, uint64(rec.ID), 5<<16+9) // in block 5
	require.Eventually(t, func() bool {
		return chunkRecords(t, mc, path)[0].Primary == "london-1"
	}, 30*time.Second, 200*time.Millisecond, "the chunk never moved off its damaged primary copy")
	require.Eventually(t, func() bool { return len(statusAt(t, meta.addr()).Damaged) == 0 },
		60*time.Second, 200*time.Millisecond, "the damaged primary copy was never repaired")
	requireSameCopies(t, uint64(rec.ID), london, sites["perth"].ds)
	requireUnflipped(t, data, 5<<16+9)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(randomData(61, 4<<20), got), "the file reads wrong after the repair")
}

// flipBytes writes "flipped" at off in the chunk file of chunk under a
// dataserver's directory, behind the dataserver's back, and returns the
// file's path.
func flipBytes(t *testing.T, dsDir string, chunk uint64, off int64) string {
	t.Helper()
	data := filepath.Join(dsDir, "chunks", fmt.Sprintf("%02x", chunk&0xff), fmt.Sprintf("%016x.dat", chunk))
	f, err := os.OpenFile(data, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt([]byte("flipped"), off)
	require.NoError(t, err)
	return data
}

// requireUnflipped checks that the bytes flipBytes wrote at off are gone.
func requireUnflipped(t *testing.T, data string, off int64) {
	t.Helper()
	got := make([]byte, 7)
	f, err := os.Open(data)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.ReadAt(got, off)
	require.NoError(t, err)
	require.NotEqual(t, "flipped", string(got), "the flipped bytes are still in %s", data)
}

// statusAt runs lis status --json against the metaservice at addr.
func statusAt(t *testing.T, addr string) *statusReport {
	t.Helper()
	out, err := exec.Command(lisBin, "status", "--meta", addr, "--json").Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == statusDangerExit) {
		require.NoError(t, err, "%s", out)
	}
	var r statusReport
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return &r
}

// TestE2EReadAroundBadBlock: with scrubbing off, a reader whose local
// copy has a bad block gets the right bytes from another copy, never an
// error or wrong data; the block it hit is reported, and the copy is
// repaired. A file with one copy only keeps failing that block with EIO:
// nothing is invented.
func TestE2EReadAroundBadBlock(t *testing.T) {
	needE2E(t)
	meta, sites := startSitesWithDS(t, nil, []string{"--scrub-rate", "off"}, "perth", "london")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	want := randomData(71, 2<<20)
	require.NoError(t, os.WriteFile(filepath.Join(sites["perth"].mnt, "f"), want, 0o644))
	rec := chunkRecords(t, mc, filepath.Join(sites["perth"].mnt, "f"))[0]
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)

	data := flipBytes(t, sites["london"].ds.dir, uint64(rec.ID), 3<<16+1)
	got, err := os.ReadFile(filepath.Join(sites["london"].mnt, "f"))
	require.NoError(t, err, "the read goes around london's bad block")
	require.True(t, bytes.Equal(want, got), "and reads the right bytes")
	require.Eventually(t, func() bool { return len(statusAt(t, meta.addr()).Damaged) > 0 },
		30*time.Second, 200*time.Millisecond, "the bad block the reader hit was never reported")
	require.Eventually(t, func() bool { return len(statusAt(t, meta.addr()).Damaged) == 0 },
		60*time.Second, 200*time.Millisecond, "the damaged copy was never repaired")
	requireUnflipped(t, data, 3<<16+1)

	one := filepath.Join(sites["perth"].mnt, "one")
	setPolicyFile(t, one, "target_copies: 1\n")
	require.NoError(t, os.WriteFile(filepath.Join(one, "f"), want, 0o644))
	rec = chunkRecords(t, mc, filepath.Join(one, "f"))[0]
	require.Equal(t, []string{"perth"}, copySites(rec))
	flipBytes(t, sites["perth"].ds.dir, uint64(rec.ID), 5<<16)
	for range 2 {
		_, err = os.ReadFile(filepath.Join(sites["london"].mnt, "one", "f"))
		require.ErrorIs(t, err, syscall.EIO, "a single damaged copy: the block stays unreadable")
	}
}
