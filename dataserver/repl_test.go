package dataserver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/stretchr/testify/require"
)

var replMB = flag.Int("repl.mb", 0, "MiB of random overwrites in TestReplication (default 256; 32 with -short)")

// replChunk models one replicated chunk: its current content and the
// block checksums (and size) of every version it has had.
type replChunk struct {
	content chunkModel // writer only
	crcs    []uint32   // writer only

	mu       sync.Mutex
	versions map[uint64]modelVersion
	muts     map[uint64]modelMutation // what made each version
}

// modelMutation is a write (n bytes at off with checksum crc) or, with
// truncate set, a truncation to size.
type modelMutation struct {
	truncate bool
	off      int64
	n        int
	crc      uint32
	size     int64
}

type modelVersion struct {
	size int64
	crcs []uint32
}

func blockCRCOf(content []byte, b int) uint32 {
	buf := make([]byte, chunkstore.BlockSize)
	lo := b * chunkstore.BlockSize
	if lo < len(content) {
		copy(buf, content[lo:])
	}
	return chunkstore.CRC(buf)
}

// mutate applies a write (or truncate when data is nil) to the model and
// records the resulting version. It is called before the mutation is sent,
// so a replica can never show a version the model does not know.
func (c *replChunk) mutate(version uint64, off int64, data []byte, truncate int64) {
	lo, hi := 0, 0
	if data != nil {
		c.content.write(off, data)
		lo, hi = int(off/chunkstore.BlockSize), int((off+int64(len(data))-1)/chunkstore.BlockSize)
	} else {
		c.content.truncate(truncate)
		lo, hi = int(truncate/chunkstore.BlockSize), int(truncate/chunkstore.BlockSize)
	}
	n := (len(c.content) + chunkstore.BlockSize - 1) / chunkstore.BlockSize
	for len(c.crcs) < n {
		c.crcs = append(c.crcs, chunkstore.ZeroBlockCRC)
	}
	c.crcs = c.crcs[:n]
	for b := lo; b <= hi && b < n; b++ {
		c.crcs[b] = blockCRCOf(c.content, b)
	}
	mm := modelMutation{truncate: data == nil, off: off, n: len(data), crc: chunkstore.CRC(data), size: truncate}
	c.mu.Lock()
	c.versions[version] = modelVersion{size: int64(len(c.content)), crcs: slices.Clone(c.crcs)}
	c.muts[version] = mm
	c.mu.Unlock()
}

func (c *replChunk) mutation(v uint64) (modelMutation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mm, ok := c.muts[v]
	return mm, ok
}

func (c *replChunk) at(v uint64) (modelVersion, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mv, ok := c.versions[v]
	return mv, ok
}

// replicaStates checks, through the replica engine's replicaApplied
// hook, every state a replica's chunks go through: each replicated write
// or truncate must apply on top of the version just before it and be the
// very mutation that made that version on the primary, so the replica
// only ever holds versions the primary had (a prefix of its journal). A
// full copy hides the chunk until it ends at some primary version, from
// which the chain continues.
type replicaStates struct {
	t      *testing.T
	chunks map[uint64]*replChunk

	mu      sync.Mutex
	checked int
	copies  int
	copying map[uint64]bool
	failed  bool
}

func (rs *replicaStates) applied(m *Mutation, before uint64) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	fail := func(format string, args ...any) {
		if !rs.failed {
			rs.failed = true
			rs.t.Errorf("replica chunk %x: "+format, append([]any{m.Chunk}, args...)...)
		}
	}
	c := rs.chunks[m.Chunk]
	if c == nil {
		fail("not a chunk of the test")
		return
	}
	switch m.Op {
	case OpResyncBegin:
		rs.copying[m.Chunk] = true
		return
	case OpResyncData:
		if !rs.copying[m.Chunk] {
			fail("copy data outside a copy")
		}
		return
	case OpResyncEnd:
		rs.copying[m.Chunk] = false
		rs.copies++
		return
	case OpWrite, OpTruncate:
	default:
		return
	}
	mm, ok := c.mutation(m.Version)
	switch {
	case rs.copying[m.Chunk]:
		fail("%s at version %d during a full copy", m.Op, m.Version)
	case before != m.Version-1:
		fail("version %d applied on top of version %d", m.Version, before)
	case !ok:
		fail("version %d was never made by the primary", m.Version)
	case mm.truncate != (m.Op == OpTruncate):
		fail("version %d is a %s, the primary made it with a different operation", m.Version, m.Op)
	case mm.truncate && int64(m.Arg) != mm.size:
		fail("version %d truncates to %d, the primary to %d", m.Version, m.Arg, mm.size)
	case !mm.truncate && (m.Offset != mm.off || len(m.Data) != mm.n || chunkstore.CRC(m.Data) != mm.crc):
		fail("version %d writes %d bytes at %d (crc %08x), the primary wrote %d at %d (crc %08x)",
			m.Version, len(m.Data), m.Offset, chunkstore.CRC(m.Data), mm.n, mm.off, mm.crc)
	default:
		rs.checked++
	}
}

// compressibleBytes returns n bytes of words, which lz4 compresses.
func compressibleBytes(r *rand.Rand, n int) []byte {
	words := []string{"chunk ", "journal ", "replica ", "version ", "lease ", "perth ", "london ", "nyc "}
	b := make([]byte, 0, n+8)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
	}
	return b[:n]
}

// TestReplication writes random overwrites (and a few truncates) to three
// chunks on one dataserver that replicates them to another over loopback
// TCP. Every mutation the replica applies is checked to be the primary's
// next one (replicaStates), and the replica is sampled as it goes: the
// version it shows (checksums, and one block read through the read path)
// must be exactly the primary's content at that version. In the end the
// replica converges to identical content. One chunk's data compresses, so
// lz4 batches are shipped too.
func TestReplication(t *testing.T) {
	total := *replMB
	if total == 0 {
		total = 256
		if testing.Short() {
			total = 32
		}
	}
	ctx := context.Background()
	a := startServer(t, shortDir(t), "a", nil)
	b := startServer(t, shortDir(t), "b", nil)
	bTCP, err := Dial(b.Addr())
	require.NoError(t, err)
	defer bTCP.Close()

	const span = 24 << 20 // writes land in the first span bytes of each chunk
	chunks := map[uint64]*replChunk{}
	// 0xa3 is written front to back: its writes are direct appends (see
	// append.go), shipped from the chunk file rather than the journal.
	const appended = 0xa3
	ids := []uint64{0xa1, 0xa2, appended}
	// 0xa2's data compresses.
	const compressible = 0xa2
	for _, id := range ids {
		chunks[id] = &replChunk{versions: map[uint64]modelVersion{0: {}}, muts: map[uint64]modelMutation{}}
	}
	states := &replicaStates{t: t, chunks: chunks, copying: map[uint64]bool{}}
	hook := states.applied
	b.e.replicaApplied.Store(&hook)
	for _, id := range ids {
		require.NoError(t, a.client.SetReplicas(ctx, SetReplicasReq{Chunk: id, Replicas: []Peer{{ID: "b", Addr: b.Addr()}}}))
	}

	samplerCtx, stopSampler := context.WithCancel(ctx)
	samples := make(chan int, 1)
	go func() { samples <- sampleReplica(t, samplerCtx, bTCP, chunks, ids) }()

	r := rand.New(rand.NewPCG(11, 12))
	versions := map[uint64]uint64{}
	start := time.Now()
	for written := 0; written < total<<20; {
		id := ids[r.IntN(len(ids))]
		c := chunks[id]
		next := versions[id] + 1
		var err error
		if id == appended && len(c.content) < 60<<20 {
			n := directAppendMin + r.IntN(1<<20-directAppendMin)
			off, data := int64(len(c.content)), randBytes(r, n)
			c.mutate(next, off, data, 0)
			_, err = a.client.Write(ctx, WriteReq{Chunk: id, ExpectedVersion: versions[id], Offset: off, Data: data})
			written += n
		} else if r.IntN(100) == 0 {
			size := r.Int64N(span)
			c.mutate(next, 0, nil, size)
			_, err = a.client.Truncate(ctx, TruncateReq{Chunk: id, ExpectedVersion: versions[id], Size: size})
		} else {
			n := 4<<10 + r.IntN(1<<20)
			off := r.Int64N(span - int64(n))
			data := randBytes(r, n)
			if id == compressible {
				data = compressibleBytes(r, n)
			}
			c.mutate(next, off, data, 0)
			_, err = a.client.Write(ctx, WriteReq{Chunk: id, ExpectedVersion: versions[id], Offset: off, Data: data})
			written += n
		}
		require.NoError(t, err)
		versions[id] = next
	}
	writeTime := time.Since(start)

	// converge: the primary reports every replica acked at its version
	require.Eventually(t, func() bool {
		for _, id := range ids {
			info, err := a.client.ChunkInfo(ctx, id)
			require.NoError(t, err)
			if len(info.Replicas) != 1 || info.Replicas[0].AckedVersion != versions[id] {
				return false
			}
		}
		return true
	}, 2*time.Minute, 20*time.Millisecond)
	t.Logf("wrote %d MiB in %v; replica caught up %v later", total, writeTime.Round(time.Millisecond), (time.Since(start) - writeTime).Round(time.Millisecond))
	stopSampler()
	n := <-samples
	t.Logf("%d consistent samples of the replica during the run", n)
	require.Positive(t, n)

	for _, id := range ids {
		ca, err := a.client.Checksums(ctx, id)
		require.NoError(t, err)
		cb, err := bTCP.Checksums(ctx, id)
		require.NoError(t, err)
		require.Equal(t, ca, cb, "chunk %x", id)
		require.Equal(t, chunks[id].crcs, cb.CRCs)
		ra, da := readAll(t, a.client, id)
		rb, db := readAll(t, bTCP, id)
		require.Equal(t, ra.Version, rb.Version)
		require.True(t, bytes.Equal(da, db), "chunk %x content differs", id)
		require.True(t, bytes.Equal(da, chunks[id].content), "chunk %x differs from the model", id)
	}
	st, err := a.client.Stat(ctx)
	require.NoError(t, err)
	require.Len(t, st.Peers, 1)
	require.Zero(t, st.Peers[0].Behind)
	ps := st.Peers[0]
	t.Logf("%d direct appends, %d full copies; %d mutations checked on the replica; %d MiB shipped as %d MiB",
		st.DirectAppends, ps.Resyncs, states.checked, ps.RawBytes>>20, ps.WireBytes>>20)
	require.Positive(t, st.DirectAppends)
	states.mu.Lock()
	// A copy sent on a session that broke before it arrived is sent again,
	// so the primary may count more than the replica saw end.
	require.LessOrEqual(t, states.copies, int(ps.Resyncs))
	require.Equal(t, ps.Resyncs > 0, states.copies > 0, "full copies the primary made were seen ending on the replica")
	if states.copies == 0 {
		made := 0
		for _, v := range versions {
			made += int(v)
		}
		require.Equal(t, made, states.checked, "the replica applied every version the primary made, one by one")
		require.GreaterOrEqual(t, ps.RawBytes, int64(total)<<20, "everything written was shipped")
	}
	require.Positive(t, states.checked)
	states.mu.Unlock()
	require.Less(t, ps.WireBytes, ps.RawBytes, "lz4 compressed the compressible chunk's batches")
}

// sampleReplica checks the replica's state against the model until ctx
// ends and returns how many samples it took.
func sampleReplica(t *testing.T, ctx context.Context, cl *Client, chunks map[uint64]*replChunk, ids []uint64) int {
	r := rand.New(rand.NewPCG(5, 6))
	n := 0
	for ctx.Err() == nil {
		id := ids[r.IntN(len(ids))]
		c := chunks[id]
		cs, err := cl.Checksums(ctx, id)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			t.Errorf("replica checksums: %v", err)
			return n
		}
		if cs.Exists && !cs.Resyncing {
			mv, ok := c.at(cs.Version)
			if !ok || mv.size != cs.Size || !slices.Equal(mv.crcs, cs.CRCs) {
				t.Errorf("replica chunk %x at version %d is not the primary's content at that version", id, cs.Version)
				return n
			}
			n++
		}
		// and one block through the read path
		blk := r.IntN(24 << 20 / chunkstore.BlockSize)
		resp, err := cl.Read(ctx, id, int64(blk)*chunkstore.BlockSize, chunkstore.BlockSize)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EAGAIN):
		case err != nil:
			t.Errorf("replica read: %v", err)
			return n
		default:
			mv, ok := c.at(resp.Version)
			want := chunkstore.ZeroBlockCRC
			if blk < len(mv.crcs) {
				want = mv.crcs[blk]
			}
			if !ok || chunkstore.CRC(resp.Data) != want {
				t.Errorf("replica chunk %x block %d read at version %d is not the primary's content", id, blk, resp.Version)
				return n
			}
		}
		sleep(ctx, 10*time.Millisecond)
	}
	return n
}
