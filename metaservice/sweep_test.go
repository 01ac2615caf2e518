package metaservice

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
	d := f.mkdir(alice, RootIno, "d", 0755)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 2\n")))
	a := f.create(alice, d.Ino, "f", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
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
	d := f.mkdir(alice, RootIno, "d", 0755)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, d.Ino, []byte("target_copies: 2\n")))
	a := f.create(alice, d.Ino, "f", 0644)
	c, err := f.s.AllocChunk(f.ctx, a.Ino, 0, "perth", time.Minute)
	require.NoError(t, err)
	id := uint64(c.ID)
	f.ds.Wrote("fake:perth", id, 4) // shipped
	replica := otherThan(f.copiesOf(a.Ino), "perth")
	f.ds.Down("fake:"+replica, true)
	f.ds.Wrote("fake:perth", id, 6) // not shipped
	f.ds.Down("fake:"+replica, false)
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 4096, 0, []ChunkVersion{{Index: 0, Version: 6, Dataserver: "perth"}})
	require.NoError(t, err)

	f.lose([]string{replica, otherThan([]string{"london", "tokyo"}, replica)}, "perth")
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
}
