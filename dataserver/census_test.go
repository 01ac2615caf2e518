package dataserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/registry"
)

// censusServer is a Server with only what the census reads: chunk states,
// and senders whose peers acknowledged the given versions.
func censusServer(t testing.TB, acked map[string]map[uint64]uint64) *Server {
	m, err := newMetrics(nil)
	require.NoError(t, err)
	e := &engine{chunks: map[uint64]*chunkState{}, m: m}
	r := &replicator{e: e, senders: map[string]*sender{}}
	for peer, chunks := range acked {
		s := &sender{r: r, peerID: peer, chunks: map[uint64]*replState{}, connected: true}
		for id, v := range chunks {
			s.chunks[id] = &replState{acked: v}
		}
		r.senders[peer] = s
	}
	return &Server{e: e, repl: r}
}

// addChunk gives s a chunk it is primary of, written in writes of n bytes
// one second apart, ending at now.
func addChunk(s *Server, id uint64, target int, peers []string, writes int, n int64, now time.Time) {
	cs := &chunkState{id: id, owner: ChunkOwner{Ino: 100 + id, Index: 0}, target: target}
	for _, p := range peers {
		cs.replicas = append(cs.replicas, Peer{ID: p})
	}
	for v := 1; v <= writes; v++ {
		cs.version = uint64(v)
		cs.size += n
		cs.marks.note(uint64(v), n, now.Add(time.Duration(v-writes)*time.Second))
	}
	s.e.chunks[id] = cs
	s.e.watch.add(id)
}

func TestCensus(t *testing.T) {
	now := time.Unix(10_000, 0)
	s := censusServer(t, map[string]map[uint64]uint64{
		"london": {1: 10, 2: 4, 3: 0},
		"tokyo":  {1: 10, 2: 10, 3: 0},
	})
	addChunk(s, 1, 3, []string{"london", "tokyo"}, 10, 100, now) // safe everywhere
	addChunk(s, 2, 3, []string{"london", "tokyo"}, 10, 100, now) // london 6 writes behind, tokyo current
	addChunk(s, 3, 3, []string{"london", "tokyo"}, 5, 1000, now) // only here
	addChunk(s, 4, 1, nil, 3, 7, now)                            // single copy by policy
	addChunk(s, 5, 3, []string{"london"}, 1, 10, now)            // too few copies placed; london has no sender yet

	peers, danger, _ := s.census(now)
	require.Equal(t, []registry.PeerLag{
		{ID: "london", Connected: true, Chunks: 3, Bytes: 600 + 5000 + 10, Oldest: now.Add(-5 * time.Second).UnixNano()},
		{ID: "tokyo", Connected: true, Chunks: 1, Bytes: 5000, Oldest: now.Add(-4 * time.Second).UnixNano()},
	}, peers)
	require.Equal(t, 3, danger.Chunks, "chunks 3 and 5, and 4, a single copy")
	require.Equal(t, int64(5000+21+10), danger.Bytes)
	require.Equal(t, 3, danger.Under, "chunks 2 (london behind), 3 and 5")
	require.Equal(t, uint64(3), danger.Top[0].Chunk, "most bytes first")
	require.Equal(t, registry.DangerChunk{Ino: 103, Chunk: 3, Bytes: 5000, Oldest: now.Add(-4 * time.Second).UnixNano(),
		Size: 5000, Copies: 3, Current: 1, Target: 3}, danger.Top[0])
	for _, dc := range danger.Top {
		if dc.Chunk == 2 {
			require.Zero(t, dc.Bytes, "tokyo holds chunk 2: nothing of it is only here")
			require.Equal(t, 2, dc.Current)
		}
	}
	require.Empty(t, s.e.chunks[1].marks.marks, "a chunk current everywhere forgets its marks")
	require.NotEmpty(t, s.e.chunks[2].marks.marks)
	watched := s.e.watch.take()
	require.NotContains(t, watched, uint64(1), "a settled chunk is not visited again")
	require.Contains(t, watched, uint64(2))
	require.Contains(t, watched, uint64(4), "a single copy stays in danger")
	for id := range watched {
		s.e.watch.add(id)
	}

	// london catches up with chunk 2: the next census settles it.
	s.repl.senders["london"].chunks[2].acked = 10
	_, danger, _ = s.census(now)
	require.Equal(t, 2, danger.Under)
	require.NotContains(t, s.e.watch.take(), uint64(2))
}

func TestCensusNotPrimary(t *testing.T) {
	s := censusServer(t, nil)
	now := time.Now()
	addChunk(s, 1, 2, nil, 3, 100, now)
	s.e.chunks[1].owner = ChunkOwner{} // a replica here, or a former primary
	_, danger, _ := s.census(now)
	require.Zero(t, danger.Chunks)
	require.Empty(t, danger.Top)
}

// BenchmarkCensus measures one heartbeat's census over a dataserver that
// is primary of 1,000,000 chunks, one in a hundred lagging on one of two
// peers (after the first census, which settles the rest): the cost each
// heartbeat pays so that lis status scans nothing.
func BenchmarkCensus(b *testing.B) {
	const chunks = 1_000_000
	now := time.Now()
	acked := map[string]map[uint64]uint64{"london": {}, "tokyo": {}}
	for id := uint64(1); id <= chunks; id++ {
		acked["london"][id], acked["tokyo"][id] = 3, 3
		if id%100 == 0 {
			acked["tokyo"][id] = 1
		}
	}
	s := censusServer(b, acked)
	for id := uint64(1); id <= chunks; id++ {
		addChunk(s, id, 3, []string{"london", "tokyo"}, 3, 4096, now)
	}
	s.census(now)
	b.ResetTimer()
	for range b.N {
		_, danger, _ := s.census(now)
		if danger.Under != chunks/100 {
			b.Fatalf("under target: %d", danger.Under)
		}
	}
}
