package metaservice

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testChunksAndTruncate(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	var ids []ChunkID
	for i := uint32(0); i < 3; i++ {
		c, err := f.s.AllocChunk(f.ctx, a.Ino, i, "ds1", time.Minute)
		require.NoError(t, err)
		require.Equal(t, "ds1", c.Primary)
		require.Equal(t, RootShard, c.ID.Shard())
		ids = append(ids, c.ID)
	}
	again, err := f.s.AllocChunk(f.ctx, a.Ino, 1, "ds2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, ids[1], again.ID, "allocation is idempotent")

	_, err = f.s.AcquireLease(f.ctx, a.Ino, 1, "ds2", time.Minute)
	requireErrno(t, err, syscall.EAGAIN)
	f.now = f.now.Add(2 * time.Minute)
	c, err := f.s.AcquireLease(f.ctx, a.Ino, 1, "ds2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "ds2", c.Primary)
	require.Equal(t, uint64(2), c.LeaseEpoch)

	size := uint64(2*ChunkSize + 100)
	got, err := f.s.CommitWrite(f.ctx, a.Ino, size, f.now.UnixNano(), []ChunkVersion{{Index: 2, Version: 7, Dataserver: "ds1"}})
	require.NoError(t, err)
	require.Equal(t, size, got.Size)
	require.Equal(t, uint64(1), got.Gen)
	recs, err := f.s.Chunks(f.ctx, a.Ino, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	require.Equal(t, uint64(7), recs[2].Version)
	f.fsckClean()

	_, err = f.s.CommitWrite(f.ctx, a.Ino, MaxFileSize+1, 0, nil)
	requireErrno(t, err, syscall.EFBIG)
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize, Size: MaxFileSize + 1})
	requireErrno(t, err, syscall.EFBIG)
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 1, "ds2", 0)
	requireErrno(t, err, syscall.EINVAL)

	// A shorter commit never shrinks the file.
	got, err = f.s.CommitWrite(f.ctx, a.Ino, 10, f.now.UnixNano(), nil)
	require.NoError(t, err)
	require.Equal(t, size, got.Size)

	// Truncating into the first chunk releases the other two.
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize, Size: 10})
	require.NoError(t, err)
	recs, err = f.s.Chunks(f.ctx, a.Ino, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	dels, err := f.s.PendingDeletions(f.ctx, 100)
	require.NoError(t, err)
	require.ElementsMatch(t, []ChunkID{ids[1], ids[2]}, []ChunkID{dels[0].Chunk, dels[1].Chunk})
	require.NoError(t, f.s.AckDeletions(f.ctx, []ChunkID{dels[0].Chunk, dels[1].Chunk}))

	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	dels, err = f.s.PendingDeletions(f.ctx, 100)
	require.NoError(t, err)
	require.Len(t, dels, 1)
	require.Equal(t, ids[0], dels[0].Chunk)
	require.Equal(t, []string{"ds1"}, dels[0].Replicas)
	f.fsckClean()
}

func testStatFS(t *testing.T, f *fixture) {
	before, err := f.s.StatFS(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), before.UsedInodes)
	a := f.create(alice, RootIno, "f", 0644)
	f.mkdir(alice, RootIno, "d", 0755)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 5000, 0, nil)
	require.NoError(t, err)
	st, err := f.s.StatFS(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(3), st.UsedInodes)
	require.Equal(t, uint64(5000), st.UsedBytes)
	require.NoError(t, f.s.flushUsage(f.ctx))
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	st, err = f.s.StatFS(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), st.UsedInodes)
	require.Equal(t, uint64(0), st.UsedBytes)
}
