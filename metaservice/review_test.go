package metaservice

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/registry"
)

// copiesOf returns the dataservers in the record of chunk 0 of ino.
func (f *fixture) copiesOf(ino Ino) []string {
	f.t.Helper()
	c, err := f.s.chunkRecord(f.ctx, ino, 0)
	require.NoError(f.t, err)
	return replicaIDs(c.Replicas)
}

// registerSites registers dataservers ids, each with free space and in a
// site and region of its own name, so that placement may use them.
func (f *fixture) registerSites(ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		hb := registry.Heartbeat{ID: id, Addr: "fake:" + id, Site: id, Region: id, Capacity: 100, Free: 50}
		require.NoError(f.t, f.s.DataserverHeartbeat(f.ctx, hb))
	}
}

// reviewAll runs placement review passes until the queue is empty.
func (f *fixture) reviewAll() {
	f.t.Helper()
	for range 20 {
		require.NoError(f.t, f.s.ReviewPlacement(f.ctx))
		if n, err := f.s.PendingReviews(f.ctx, 1); err == nil && n == 0 {
			return
		}
	}
	f.t.Fatal("placement reviews still queued after 20 passes")
}

// testPlacementReview: changing a directory's policy, or moving a file to
// a directory under another policy, re-places existing chunks: missing
// copies are added and shipped to, surplus copies go once the rest are
// current (and are deleted from their dataservers), and the chunk's
// replication mode follows the policy.
func testPlacementReview(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "nyc", "tokyo")
	d := f.mkdir(alice, RootIno, "d", 0755)
	sub := f.mkdir(alice, d.Ino, "sub", 0755)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 3\n")))
	a := f.create(alice, sub.Ino, "f", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	id := uint64(c.ID)
	f.ds.Wrote("fake:perth", id, 4)
	require.Len(t, f.copiesOf(a.Ino), 3)

	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 2\n")))
	f.reviewAll()
	copies := f.copiesOf(a.Ino)
	require.Len(t, copies, 2, "a surplus copy is dropped")
	require.Equal(t, "perth", copies[0])
	require.Len(t, f.ds.Replicas("fake:perth", id), 1, "the primary ships to one replica")
	held := 0
	for _, ds := range []string{"perth", "london", "nyc", "tokyo"} {
		if f.ds.Holds("fake:"+ds, id) {
			held++
		}
	}
	require.Equal(t, 2, held, "the surplus copy is deleted from its dataserver")

	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 4\nreplication: async_lazy\n")))
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 4, "missing copies are added")
	info, err := f.ds.ChunkInfo(f.ctx, "fake:perth", id)
	require.NoError(t, err)
	require.Len(t, info.Replicas, 3)
	require.Equal(t, dataserver.ReplLazy, info.Mode, "the primary ships in the policy's mode")

	// Moving the file out from under d's policy (to the root's default:
	// two copies) re-places it.
	require.NoError(t, f.s.Rename(f.ctx, alice, sub.Ino, "f", RootIno, "f", 0))
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 2)

	// A surplus copy is not dropped while a wanted copy lags.
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "f", sub.Ino, "f", 0))
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 4)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 3\n")))
	f.ds.Down("fake:perth", true) // the primary cannot say the others are current
	var err2 error
	for range 5 {
		if err2 = f.s.ReviewPlacement(f.ctx); err2 != nil {
			break
		}
	}
	require.ErrorContains(t, err2, "fake:perth")
	require.Len(t, f.copiesOf(a.Ino), 4, "nothing is dropped on faith")
	n, err := f.s.PendingReviews(f.ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the file's review stays queued")
	f.ds.Down("fake:perth", false)
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 3)

	// While the cluster cannot hold the policy (the others are full), a
	// copy outside the placement may be one it still needs: none goes.
	for _, id := range []string{"london", "nyc", "tokyo"} {
		hb := registry.Heartbeat{ID: id, Addr: "fake:" + id, Site: id, Region: id, Capacity: 100, Free: 0}
		require.NoError(t, f.s.DataserverHeartbeat(f.ctx, hb))
	}
	f.now = f.now.Add(2 * time.Second) // past the registry snapshot's life
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 2\n")))
	for range 5 {
		require.NoError(t, f.s.ReviewPlacement(f.ctx))
	}
	require.Len(t, f.copiesOf(a.Ino), 3, "nothing dropped while the placement is short")
}

// testFaultyGetsNoCopies: a dataserver that reports a disk fault in its
// heartbeats is passed over by placement, even where the policy then
// gets fewer copies than it asks.
func testFaultyGetsNoCopies(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "nyc")
	hb := registry.Heartbeat{ID: "nyc", Addr: "fake:nyc", Site: "nyc", Region: "nyc", Capacity: 100, Free: 50,
		Fault: "journal failed (restart to recover): fdatasync: input/output error"}
	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, hb))
	f.now = f.now.Add(2 * time.Second) // past the registry snapshot's life
	d := f.mkdir(alice, RootIno, "d", 0755)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 3\n")))
	a := f.create(alice, d.Ino, "f", 0644)
	_, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"perth", "london"}, f.copiesOf(a.Ino))
}

// testCopyVersions: the copy versions a heartbeat reports reach the chunk
// records, never backwards, and only for records that still have the
// chunk and the copy.
func testCopyVersions(t *testing.T, f *fixture) {
	f.registerSites("perth", "london")
	a := f.create(alice, RootIno, "f", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	report := func(chunk uint64, ds string, v uint64) {
		cv := registry.CopyVersion{Ino: uint64(a.Ino), Index: 0, Chunk: chunk, Dataserver: ds, Version: v}
		require.NoError(t, f.s.DataserverHeartbeat(f.ctx, registry.Heartbeat{ID: "perth", Addr: "fake:perth",
			Copies: []registry.CopyVersion{cv}}))
	}
	version := func(ds string) uint64 {
		rec, err := f.s.chunkRecord(f.ctx, a.Ino, 0)
		require.NoError(t, err)
		for _, r := range rec.Replicas {
			if r.Dataserver == ds {
				return r.Version
			}
		}
		return 0
	}
	report(uint64(c.ID), "london", 7)
	require.Equal(t, uint64(7), version("london"))
	report(uint64(c.ID), "london", 5)
	require.Equal(t, uint64(7), version("london"), "a late report does not take it back")
	report(uint64(c.ID)+1, "london", 9)
	require.Equal(t, uint64(7), version("london"), "a report of another chunk is not this record's")
	report(uint64(c.ID), "nyc", 9)
	require.Zero(t, version("nyc"), "a copy the record does not have is not added")
	require.Empty(t, f.dataservers()[0].Copies, "reports are not kept in the registry")
}

// testDataBlocks: a file is charged the data blocks its dataservers
// report, holes excluded (st_blocks, du, usage), never more than its size;
// a truncation gives back what it cuts.
func testDataBlocks(t *testing.T, f *fixture) {
	f.register("perth")
	a := f.create(alice, RootIno, "sparse", 0644)
	require.True(t, a.BlocksKnown)
	_, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	_, err = f.s.AllocChunk(f.ctx, a.Ino, 2, "perth", time.Minute)
	require.NoError(t, err)
	size := uint64(3 * ChunkSize)
	got, err := f.s.CommitWrite(f.ctx, a.Ino, size, 1, []ChunkVersion{
		{Index: 0, Version: 3, Dataserver: "perth", Blocks: 4}, {Index: 2, Version: 1, Dataserver: "perth", Blocks: 1}})
	require.NoError(t, err)
	require.Equal(t, uint64(5), got.DataBlocks)
	require.Equal(t, uint64(5*DataBlockSize), got.Allocated(), "holes are not charged")
	got, err = f.s.CommitWrite(f.ctx, a.Ino, size, 2, []ChunkVersion{{Index: 0, Version: 2, Dataserver: "perth", Blocks: 9}})
	require.NoError(t, err)
	require.Equal(t, uint64(5), got.DataBlocks, "an older version's count is not the chunk's")

	got, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize, Size: 100 << 10, TailBlocks: 2, TailKnown: true})
	require.NoError(t, err)
	require.Equal(t, uint64(2), got.DataBlocks, "chunk 2 released, chunk 0 cut to what its dataserver said")
	require.Equal(t, uint64(100<<10), got.Allocated(), "never more than the size")
}

// testReconcileChunks: at a one-machine volume's start, chunks no record
// names and records past their file's size go to the deletion queue;
// chunks within a file stay.
func testReconcileChunks(t *testing.T, f *fixture) {
	f.register("ds1")
	a := f.create(alice, RootIno, "f", 0644)
	c0, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "ds1", time.Minute)
	require.NoError(t, err)
	c1, err := f.s.AllocChunk(f.ctx, a.Ino, 1, "ds1", time.Minute)
	require.NoError(t, err)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 100, 1, []ChunkVersion{{Index: 0, Version: 1, Dataserver: "ds1", Blocks: 1}})
	require.NoError(t, err)
	const lost = ChunkID(1 << 40)
	n, err := f.s.ReconcileChunks(f.ctx, "ds1", []uint64{uint64(c0.ID), uint64(c1.ID), uint64(lost)})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	dels, err := f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	var queued []ChunkID
	for _, d := range dels {
		queued = append(queued, d.Chunk)
	}
	require.ElementsMatch(t, []ChunkID{c1.ID, lost}, queued)
	_, err = f.s.chunkRecord(f.ctx, a.Ino, 1)
	requireErrno(t, err, syscall.ENOENT)
	_, err = f.s.chunkRecord(f.ctx, a.Ino, 0)
	require.NoError(t, err, "the chunk within the file stays")
	f.fsckClean()
	n, err = f.s.ReconcileChunks(f.ctx, "ds1", []uint64{uint64(c0.ID), uint64(c1.ID), uint64(lost)})
	require.NoError(t, err)
	require.Zero(t, n, "queued ones are not queued again")
}

// testReviewUnqueuesWantedCopy: a surplus copy whose deletion was queued
// (its dataserver away) is not deleted once a later review wants it back.
func testReviewUnqueuesWantedCopy(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "nyc")
	a, _ := f.chunkUnder("target_copies: 3\n", 2)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, a.Parent, []byte("target_copies: 2\n")))
	f.ds.Down("fake:nyc", true)
	f.reviewAll()
	require.Equal(t, []string{"perth", "london"}, f.copiesOf(a.Ino))
	dels, err := f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	require.Len(t, dels, 1, "nyc's copy is queued for deletion while nyc is away")

	require.NoError(t, f.s.SetPolicy(f.ctx, alice, a.Parent, []byte("target_copies: 3\n")))
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 3)
	dels, err = f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	require.Empty(t, dels, "a copy wanted again is no longer to be deleted")
}
