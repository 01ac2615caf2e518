package dataserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fillUntilENOSPC writes 256 KiB pieces round-robin over chunks (direct
// appends), with small journaled overwrites and syncs among them, until a
// write fails with ENOSPC, and returns the model of what was
// acknowledged.
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
		if i%3 == 2 && off > 0 {
			off, p = r.Int64N(off), randBytes(r, 4<<10)
		}
		resp, err := c.Write(ctx, WriteReq{Chunk: id, ExpectedVersion: versions[id], Offset: off, Data: p})
		if errors.Is(err, syscall.ENOSPC) {
			return models, versions
		}
		require.NoError(t, err)
		if i%5 == 4 {
			// Acknowledged writes can always be made durable: the space
			// they need was taken when they were accepted.
			_, err := c.Sync(ctx, id)
			require.NoError(t, err)
		}
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

// mountSmallFS mounts a fresh filesystem of the given kind ("tmpfs", or
// "ext4" on a loop device over a sparse image) of sizeMiB, unmounted at
// the end of the test. It skips the test where mounting is not possible
// (not root, no loop devices).
func mountSmallFS(t *testing.T, kind string, sizeMiB int) string {
	if os.Geteuid() != 0 {
		t.Skip("mounting a filesystem needs root")
	}
	mnt := shortDir(t)
	var cmd *exec.Cmd
	switch kind {
	case "tmpfs":
		cmd = exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMiB), "lis-test", mnt)
	case "ext4":
		img := filepath.Join(shortDir(t), "fs.img")
		require.NoError(t, os.WriteFile(img, nil, 0o600))
		require.NoError(t, os.Truncate(img, int64(sizeMiB)<<20))
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).CombinedOutput(); err != nil {
			t.Skipf("mkfs.ext4: %v: %s", err, out)
		}
		cmd = exec.Command("mount", "-o", "loop", img, mnt)
	default:
		t.Fatalf("unknown filesystem %q", kind)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot mount %s: %v: %s", kind, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// TestDiskFull runs a dataserver on a small real filesystem (root only):
// the filesystem's own ENOSPC refuses writes, nothing acknowledged is
// lost, and once space is freed writes work again. On ext4 space is
// allocated at writeback (delayed allocation), not at write(2) as on
// tmpfs, and fdatasync does real work.
func TestDiskFull(t *testing.T) {
	for _, kind := range []string{"tmpfs", "ext4"} {
		t.Run(kind, func(t *testing.T) { testDiskFull(t, kind) })
	}
}

func testDiskFull(t *testing.T, kind string) {
	mnt := mountSmallFS(t, kind, 32)
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
