package metaservice

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/registry"
)

// chunkUnder makes directory /d under policy and a file in it whose
// chunk 0 perth allocates, at version if not 0.
func (f *fixture) chunkUnder(policy string, version uint64) (*Attr, *ChunkRecord) {
	f.t.Helper()
	d := f.mkdir(alice, RootIno, "d", 0755)
	require.NoError(f.t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte(policy)))
	a := f.create(alice, d.Ino, "f", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(f.t, err)
	if version != 0 {
		f.ds.Wrote("fake:perth", uint64(c.ID), version)
	}
	return a, c
}

// lose lets the clock pass lost-after while only the dataservers alive
// heartbeat, and makes the others unreachable.
func (f *fixture) lose(alive []string, lost ...string) {
	f.t.Helper()
	for _, id := range lost {
		f.ds.Down("fake:"+id, true)
	}
	for range 11 {
		f.now = f.now.Add(time.Minute)
		f.registerSites(alive...)
	}
	require.NoError(f.t, f.s.SweepRedundancy(f.ctx))
}

func otherThan(ids []string, not ...string) string {
	for _, id := range ids {
		if !slices.Contains(not, id) {
			return id
		}
	}
	return ""
}

// testRereplication: a replica's dataserver lost past RereplicateAfter
// gets its copy made again on another, and the lost one leaves the
// record once the new one is current.
func testRereplication(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "tokyo")
	a, c := f.chunkUnder("target_copies: 2\n", 0)
	f.ds.Wrote("fake:perth", uint64(c.ID), 4)
	replica := otherThan(f.copiesOf(a.Ino), "perth")
	third := otherThan([]string{"london", "tokyo"}, replica)

	f.lose([]string{"perth", third}, replica)
	info, err := f.s.Info(f.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{replica}, info.Rereplication.Lost)
	require.Equal(t, 1, info.Rereplication.Found)
	f.reviewAll()
	require.Equal(t, []string{"perth", third}, f.copiesOf(a.Ino))
}

// testFailover: a lost primary's chunk fails over to its replica; what
// only the primary had is recorded lost, nothing else.
func testFailover(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "tokyo")
	a, c := f.chunkUnder("target_copies: 2\n", 0)
	id := uint64(c.ID)
	var err error
	f.ds.Wrote("fake:perth", id, 4) // shipped
	replica := otherThan(f.copiesOf(a.Ino), "perth")
	f.ds.Down("fake:"+replica, true)
	f.ds.Wrote("fake:perth", id, 6) // not shipped
	f.ds.Down("fake:"+replica, false)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 4096, 0, []ChunkVersion{{Index: 0, Version: 6, Dataserver: "perth"}})
	require.NoError(t, err)

	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, registry.Heartbeat{ID: "perth", Addr: "fake:perth", Site: "perth",
		Region: "perth", Capacity: 100, Free: 50, Danger: registry.Danger{Chunks: 1, Bytes: 8192}}))
	f.lose([]string{replica, otherThan([]string{"london", "tokyo"}, replica)}, "perth")
	list, err := f.s.ListDataservers(f.ctx)
	require.NoError(t, err)
	for _, d := range list {
		require.Zero(t, d.Danger.Bytes, "%s: a finished pass forgets what a lost dataserver reported at risk", d.ID)
	}
	rec, err := f.s.chunkRecord(f.ctx, a.Ino, 0)
	require.NoError(t, err)
	require.Equal(t, replica, rec.Primary)
	require.Equal(t, uint64(4), rec.Version)
	info, err := f.s.Info(f.ctx)
	require.NoError(t, err)
	require.Len(t, info.LostWrites, 1)
	l := info.LostWrites[0]
	require.Equal(t, LostWrite{Ino: a.Ino, Chunk: c.ID, Primary: "perth", From: 5, To: 6, At: l.At}, l)
	f.reviewAll()
	require.Len(t, f.copiesOf(a.Ino), 2)
	require.NotContains(t, f.copiesOf(a.Ino), "perth")

	// perth returns holding versions 5 and 6, which no other copy saw:
	// its copy is quarantined, not served, not removed.
	f.ds.Down("fake:perth", false)
	f.registerSites("perth")
	require.NoError(t, f.s.ReclaimChunks(f.ctx))
	require.False(t, f.ds.Holds("fake:perth", id))
	require.Equal(t, []uint64{id}, f.ds.Quarantined("fake:perth"))
	pending, err := f.s.PendingDeletions(f.ctx, 10)
	require.NoError(t, err)
	require.Empty(t, pending)
}

// testFailoverStaleCopy: a failed-over primary that returns holding
// nothing past the promoted copy is behind, not diverged: its copy is
// removed, not quarantined.
func testFailoverStaleCopy(t *testing.T, f *fixture) {
	f.registerSites("perth", "london", "tokyo")
	a, c := f.chunkUnder("target_copies: 2\n", 0)
	id := uint64(c.ID)
	f.ds.Wrote("fake:perth", id, 4) // shipped to the replica
	replica := otherThan(f.copiesOf(a.Ino), "perth")
	f.lose([]string{replica, otherThan([]string{"london", "tokyo"}, replica)}, "perth")
	rec, err := f.s.chunkRecord(f.ctx, a.Ino, 0)
	require.NoError(t, err)
	require.Equal(t, replica, rec.Primary)

	f.ds.Down("fake:perth", false)
	f.registerSites("perth")
	require.NoError(t, f.s.ReclaimChunks(f.ctx))
	require.False(t, f.ds.Holds("fake:perth", id))
	require.Empty(t, f.ds.Quarantined("fake:perth"))
}

// TestSweepResumes: the sweep's cursor is in the store, so a metaservice
// that restarts in the middle of a pass goes on where it was, and the
// pass still finds every chunk with a copy on the lost dataserver.
func TestSweepResumes(t *testing.T) {
	engine := memoryEngine(t)
	f := &fixture{t: t, ctx: context.Background(), now: time.Unix(1_700_000_000, 0), ds: dspool.NewFake()}
	open := func() {
		s, err := Open(f.ctx, engine, Options{Now: func() time.Time { return f.now }, ReapInterval: time.Hour,
			ReclaimInterval: time.Hour, Dataservers: f.ds})
		require.NoError(t, err)
		s.sweepLimits = sweepLimits{batch: 2, budget: 0} // one step of two records a tick
		f.s = s
	}
	open()
	f.registerSites("perth", "london")
	for i := range 5 {
		a, err := f.s.Mknod(f.ctx, Root, RootIno, fmt.Sprintf("f%d", i), NewNode{Mode: 0o644})
		require.NoError(t, err)
		_, err = f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
		require.NoError(t, err)
	}
	f.lose([]string{"perth"}, "london") // the first step
	st, err := f.s.sweepState(f.ctx)
	require.NoError(t, err)
	require.False(t, st.Done)
	require.Equal(t, 2, st.Found)

	require.NoError(t, f.s.Close())
	open()
	require.NoError(t, f.s.SweepRedundancy(f.ctx))
	st, err = f.s.sweepState(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 4, st.Found, "the pass goes on after the restart, not from the start")
	for range 5 {
		require.NoError(t, f.s.SweepRedundancy(f.ctx))
	}
	st, err = f.s.sweepState(f.ctx)
	require.NoError(t, err)
	require.True(t, st.Done)
	require.Equal(t, 5, st.Found, "every chunk once, across the restart")
	n, err := f.s.PendingReviews(f.ctx, 100)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.NoError(t, f.s.Close())
}
