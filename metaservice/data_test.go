package metaservice

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/registry"
)

func testChunksAndTruncate(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	f.register("ds1", "ds2")
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

	f.ds.Down("fake:ds1", true)
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 1, "ds2", time.Minute)
	requireErrno(t, err, syscall.EAGAIN) // ds1's lease is live and ds1 does not answer
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
	require.Zero(t, st.UsedBytes, "a file grown without data is a hole")
	f.register("ds1")
	_, err = f.s.AllocChunk(f.ctx, a.Ino, 0, "ds1", time.Minute)
	require.NoError(t, err)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 5000, 0, []ChunkVersion{{Index: 0, Version: 1, Dataserver: "ds1", Blocks: 1}})
	require.NoError(t, err)
	st, err = f.s.StatFS(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(5000), st.UsedBytes, "one data block, charged up to the size")
	require.NoError(t, f.s.flushUsage(f.ctx))
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	st, err = f.s.StatFS(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), st.UsedInodes)
	require.Equal(t, uint64(0), st.UsedBytes)
}

// testLeaseHandover: a lease moves to another dataserver only once that
// one holds every version the holder had; the holder is fenced first and
// becomes a replica of the new one; an unreachable holder is waited out,
// and then the chunk goes on only from a copy at the committed version.
func testLeaseHandover(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	f.register("perth", "london", "nyc")
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	id := uint64(c.ID)
	require.Equal(t, uint64(1), f.ds.Lease("fake:perth", id).Epoch, "the metaservice installs the lease")
	f.ds.Wrote("fake:perth", id, 5)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 100, 1, []ChunkVersion{{Index: 0, Version: 5, Dataserver: "perth"}})
	require.NoError(t, err)
	f.ds.Wrote("fake:perth", id, 6) // acknowledged, not yet committed

	c, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "london", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "london", c.Primary)
	require.Equal(t, uint64(2), c.LeaseEpoch)
	require.Equal(t, uint64(6), c.Version, "london took over at perth's last acknowledged version")
	require.ElementsMatch(t, []Replica{{Dataserver: "perth", Version: 6}, {Dataserver: "london", Version: 6}}, c.Replicas)
	require.Nil(t, f.ds.Lease("fake:perth", id), "perth is fenced")
	require.Equal(t, uint64(2), f.ds.Lease("fake:london", id).Epoch)
	require.Empty(t, f.ds.Replicas("fake:perth", id), "perth no longer ships")
	require.Equal(t, "perth", f.ds.Replicas("fake:london", id)[0].ID, "perth became london's replica")

	// london writes on; it dies while its lease is live: nobody takes over.
	f.ds.Wrote("fake:london", id, 9)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 100, 2, []ChunkVersion{{Index: 0, Version: 9, Dataserver: "london"}})
	require.NoError(t, err)
	f.ds.Down("fake:london", true)
	f.ds.Down("fake:perth", true)
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "nyc", time.Minute)
	requireErrno(t, err, syscall.EAGAIN)
	require.Contains(t, err.Error(), "leased to london")
	// Expired, but the only other copy (perth, at 9 by replication) is away too.
	f.now = f.now.Add(2 * time.Minute)
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "nyc", time.Minute)
	requireErrno(t, err, syscall.EAGAIN)
	require.Contains(t, err.Error(), "no copy that does holds its committed version 9")
	// perth is back: nyc goes on from perth's copy.
	f.ds.Down("fake:perth", false)
	c, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "nyc", time.Minute)
	require.NoError(t, err)
	require.Equal(t, "nyc", c.Primary)
	require.Equal(t, uint64(3), c.LeaseEpoch)
	info, err := f.ds.ChunkInfo(f.ctx, "fake:nyc", id)
	require.NoError(t, err)
	require.Equal(t, uint64(9), info.Version)

	// A copy ahead of the source is divergent: never taken over.
	f.ds.Down("fake:london", false)
	f.ds.Wrote("fake:perth", id, 12) // perth took writes it should not have
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "perth", time.Minute)
	requireErrno(t, err, syscall.EIO)
	require.Contains(t, err.Error(), "divergent")
}

// testReclaimChunks: a deleted file's chunk is deleted from every
// dataserver that holds a copy; a copy on a dataserver that does not
// answer stays queued, alone, until it does.
func testReclaimChunks(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	f.register("perth", "london")
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	id := uint64(c.ID)
	f.ds.Wrote("fake:perth", id, 3)
	_, err = f.s.AcquireLease(f.ctx, a.Ino, 0, "london", time.Minute) // london gets a copy too
	require.NoError(t, err)
	require.True(t, f.ds.Holds("fake:perth", id) && f.ds.Holds("fake:london", id))

	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	f.ds.Down("fake:london", true)
	require.Error(t, f.s.ReclaimChunks(f.ctx), "london does not answer")
	require.False(t, f.ds.Holds("fake:perth", id))
	dels, err := f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	require.Equal(t, []Deletion{{Chunk: c.ID, Replicas: []string{"london"}}}, dels)

	f.ds.Down("fake:london", false)
	require.NoError(t, f.s.ReclaimChunks(f.ctx))
	require.False(t, f.ds.Holds("fake:london", id))
	dels, err = f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	require.Empty(t, dels)
}

// testPlacement: a new chunk's copies follow its directory's policy and
// the registry, and its primary is told to ship to them.
func testPlacement(t *testing.T, f *fixture) {
	for _, d := range []registry.Heartbeat{
		{ID: "perth-1", Site: "perth", Region: "au"}, {ID: "london-1", Site: "london", Region: "eu"},
		{ID: "nyc-1", Site: "nyc", Region: "us"}, {ID: "nyc-2", Site: "nyc", Region: "us"}} {
		d.Addr, d.Capacity, d.Free = "fake:"+d.ID, 100, 50
		require.NoError(t, f.s.DataserverHeartbeat(f.ctx, d))
	}
	dir := f.mkdir(alice, RootIno, "vms", 0755)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, dir.Ino, []byte("target_copies: 3\nwrite_ack: local_only\n")))
	a := f.create(alice, dir.Ino, "disk", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "london-1", time.Minute)
	require.NoError(t, err)
	require.Equal(t, []Replica{{Dataserver: "london-1"}, {Dataserver: "nyc-1"}, {Dataserver: "perth-1"}}, c.Replicas)
	var shipsTo []string
	for _, p := range f.ds.Replicas("fake:london-1", uint64(c.ID)) {
		shipsTo = append(shipsTo, p.ID)
	}
	require.Equal(t, []string{"nyc-1", "perth-1"}, shipsTo)

	// The default policy (two copies) elsewhere.
	b := f.create(alice, RootIno, "other", 0644)
	c, err = f.s.AllocChunk(f.ctx, b.Ino, 0, "nyc-2", time.Minute)
	require.NoError(t, err)
	require.Equal(t, []Replica{{Dataserver: "nyc-2"}, {Dataserver: "london-1"}}, c.Replicas)
}
