package dataserver

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fillUntilENOSPC writes 256 KiB pieces round-robin over chunks until a
// write fails with ENOSPC, and returns the model of what was acknowledged.
func fillUntilENOSPC(t *testing.T, c *Client, chunks []uint64, r *rand.Rand) (map[uint64]*chunkModel, map[uint64]uint64) {
	t.Helper()
	ctx := context.Background()
	models, versions := map[uint64]*chunkModel{}, map[uint64]uint64{}
	for _, id := range chunks {
		models[id] = &chunkModel{}
	}
	for i := 0; ; i++ {
		require.Less(t, i, 10000, "the disk never filled up")
		id := chunks[i%len(chunks)]
		off := int64(len(*models[id]))
		p := randBytes(r, 256<<10)
		resp, err := c.Write(ctx, WriteReq{Chunk: id, ExpectedVersion: versions[id], Offset: off, Data: p})
		if errors.Is(err, syscall.ENOSPC) {
			return models, versions
		}
		require.NoError(t, err)
		models[id].write(off, p)
		versions[id] = resp.Version
	}
}

func checkModels(t *testing.T, c *Client, models map[uint64]*chunkModel, versions map[uint64]uint64) {
	t.Helper()
	for id, m := range models {
		resp, data := readAll(t, c, id)
		require.Equal(t, versions[id], resp.Version, "chunk %x", id)
		require.True(t, bytes.Equal([]byte(*m), data), "chunk %x content", id)
	}
}

// TestQuotaFull: past Config.Capacity writes fail with ENOSPC, nothing
// acknowledged is lost (across a restart too), and deleting a chunk makes
// room again.
func TestQuotaFull(t *testing.T) {
	dir := shortDir(t)
	mod := func(c *Config) {
		c.Capacity = 12 << 20
		c.JournalSegmentSize = 512 << 10
		c.CheckpointInterval = 20 * time.Millisecond
	}
	ts := startServer(t, dir, "q", mod)
	r := rand.New(rand.NewPCG(9, 9))
	chunks := []uint64{1, 2, 3}
	models, versions := fillUntilENOSPC(t, ts.client, chunks, r)
	checkModels(t, ts.client, models, versions)

	ts.stop(t)
	ts = startServer(t, dir, "q", mod)
	checkModels(t, ts.client, models, versions)

	ctx := context.Background()
	require.NoError(t, ts.client.Delete(ctx, 1))
	delete(models, 1)
	require.Eventually(t, func() bool {
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: 2, ExpectedVersion: versions[2], Offset: 0, Data: []byte("room again")})
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return false
		}
		versions[2] = resp.Version
		models[2].write(0, []byte("room again"))
		return true
	}, time.Minute, 20*time.Millisecond)
	checkModels(t, ts.client, models, versions)
}

// TestDiskFull runs a dataserver on a small tmpfs (root only): the real
// ENOSPC of the filesystem refuses writes, nothing acknowledged is lost,
// and once space is freed writes work again.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := shortDir(t)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "lis-test", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	// a filler file takes space we give back later
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 6<<20), 0o644))

	dir := filepath.Join(mnt, "ds")
	mod := func(c *Config) {
		c.JournalSegmentSize = 1 << 20
		c.CheckpointInterval = 20 * time.Millisecond
	}
	ts := startServer(t, dir, "full", mod)
	r := rand.New(rand.NewPCG(4, 4))
	models, versions := fillUntilENOSPC(t, ts.client, []uint64{10, 11}, r)
	checkModels(t, ts.client, models, versions)
	ctx := context.Background()

	ts.stop(t)
	ts = startServer(t, dir, "full", mod)
	checkModels(t, ts.client, models, versions)

	require.NoError(t, os.Remove(filler))
	p := randBytes(r, 1<<20)
	require.Eventually(t, func() bool {
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: 11, ExpectedVersion: versions[11], Offset: 100, Data: p})
		if err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return false
		}
		versions[11] = resp.Version
		models[11].write(100, p)
		return true
	}, time.Minute, 20*time.Millisecond)
	_, err := ts.client.Sync(ctx, 11)
	require.NoError(t, err)
	checkModels(t, ts.client, models, versions)
	ts.stop(t)
}
