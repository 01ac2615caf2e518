package chunkstore

import (
	"bytes"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// model is the expected content of a chunk.
type model []byte

func (m *model) write(p []byte, off int64) {
	if end := off + int64(len(p)); end > int64(len(*m)) {
		*m = append(*m, make([]byte, end-int64(len(*m)))...)
	}
	copy((*m)[off:], p)
}

func (m *model) truncate(n int64) {
	if n <= int64(len(*m)) {
		*m = (*m)[:n]
		return
	}
	*m = append(*m, make([]byte, n-int64(len(*m)))...)
}

func (m model) read(off, n int64) []byte {
	out := make([]byte, n)
	if off < int64(len(m)) {
		copy(out, m[off:])
	}
	return out
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func openTemp(t *testing.T) (*Store, *Chunk) {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	c, err := s.Open(0xabc)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestChunkReadWriteTruncate(t *testing.T) {
	type op struct {
		write    bool
		off, n   int64
		truncate int64
	}
	cases := []struct {
		name string
		ops  []op
	}{
		{"aligned block", []op{{write: true, off: 0, n: BlockSize}}},
		{"small unaligned", []op{{write: true, off: 1000, n: 10}}},
		{"spanning blocks", []op{{write: true, off: BlockSize - 7, n: 3*BlockSize + 11}}},
		{"hole then data", []op{{write: true, off: 5 * BlockSize, n: 100}}},
		{"overwrite middle", []op{{write: true, off: 0, n: 4 * BlockSize}, {write: true, off: BlockSize + 5, n: 17}}},
		{"shrink mid-block", []op{{write: true, off: 0, n: 3 * BlockSize}, {truncate: BlockSize + 100}}},
		{"shrink then grow", []op{{write: true, off: 0, n: 2 * BlockSize}, {truncate: 10}, {truncate: 3 * BlockSize}}},
		{"grow by truncate then write", []op{{truncate: 4*BlockSize + 3}, {write: true, off: 2 * BlockSize, n: 9}}},
		{"shrink to zero", []op{{write: true, off: 0, n: 100}, {truncate: 0}, {write: true, off: 50, n: 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			_, c := openTemp(t)
			var m model
			for _, o := range tc.ops {
				if o.write {
					p := randBytes(r, int(o.n))
					require.NoError(t, c.WriteAt(p, o.off))
					m.write(p, o.off)
				} else {
					require.NoError(t, c.Truncate(o.truncate))
					m.truncate(o.truncate)
				}
				require.Equal(t, int64(len(m)), c.Size())
			}
			// every block checks, and reads of assorted ranges (including
			// past the end) match the model
			ranges := [][2]int64{{0, int64(len(m)) + 3*BlockSize}, {1, 1}, {BlockSize - 1, 2}, {int64(len(m)), 10}, {7, BlockSize}}
			for _, rg := range ranges {
				got := make([]byte, rg[1])
				require.NoError(t, c.ReadAt(got, rg[0]))
				require.True(t, bytes.Equal(m.read(rg[0], rg[1]), got), "range %v", rg)
			}
		})
	}
}

func TestChunkCorruptBlockIsEIO(t *testing.T) {
	var reported []int64
	s, err := Open(t.TempDir(), Options{OnCorrupt: func(_ uint64, b int64) { reported = append(reported, b) }})
	require.NoError(t, err)
	c, err := s.Open(1)
	require.NoError(t, err)
	defer c.Close()
	data := bytes.Repeat([]byte{7}, 3*BlockSize)
	require.NoError(t, c.WriteAt(data, 0))

	// flip one byte of block 1 behind the chunk's back
	f, err := os.OpenFile(s.dataPath(1), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{8}, BlockSize+10)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	buf := make([]byte, 10)
	require.NoError(t, c.ReadAt(buf, 0), "block 0 is intact")
	require.NoError(t, c.ReadAt(buf, 2*BlockSize), "block 2 is intact")
	err = c.ReadAt(buf, BlockSize)
	require.ErrorIs(t, err, syscall.EIO)
	err = c.ReadAt(make([]byte, 3*BlockSize), 0)
	require.ErrorIs(t, err, syscall.EIO, "a read spanning the bad block fails whole")
	require.Equal(t, []int64{1, 1}, reported)
}

func TestCheckpointReopen(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	c, err := s.Open(42)
	require.NoError(t, err)
	var m model
	p := randBytes(r, 2*BlockSize+5)
	require.NoError(t, c.WriteAt(p, 100))
	m.write(p, 100)
	c.SetMeta(Meta{Version: 9, Epoch: 3, Replicas: []string{"b=127.0.0.1:1"}})
	require.NoError(t, s.Checkpoint([]Snapshot{mustSnapshot(t, c)}))

	// written after the checkpoint: the reopened chunk must cut it off
	require.NoError(t, c.WriteAt(randBytes(r, 1000), c.Size()+BlockSize))
	require.NoError(t, c.Close())

	s2, err := Open(dir, Options{})
	require.NoError(t, err)
	ids, err := s2.List()
	require.NoError(t, err)
	require.Equal(t, []uint64{42}, ids)
	c2, err := s2.Open(42)
	require.NoError(t, err)
	defer c2.Close()
	meta := c2.Meta()
	require.Equal(t, Meta{Version: 9, Epoch: 3, Size: int64(len(m)), Replicas: []string{"b=127.0.0.1:1"}}, meta)
	got := make([]byte, len(m))
	require.NoError(t, c2.ReadAt(got, 0))
	require.Equal(t, []byte(m), got)
	st, err := os.Stat(s2.dataPath(42))
	require.NoError(t, err)
	require.Equal(t, int64(len(m)), st.Size(), "data past the sidecar's size is cut")
}

func TestMissingSidecarOpensEmpty(t *testing.T) {
	s, c := openTemp(t)
	require.NoError(t, c.WriteAt([]byte("not checkpointed"), 0))
	c2, err := s.Open(c.ID())
	require.NoError(t, err)
	defer c2.Close()
	require.Zero(t, c2.Size())
	require.NoError(t, s.Remove(c2.ID(), nil))
	ids, err := s.List()
	require.NoError(t, err)
	require.Empty(t, ids)
}

func TestSidecarDecodeRejectsGarbage(t *testing.T) {
	good, err := encodeSidecar(&sidecar{Meta: Meta{Version: 1, Size: 1}, CRCs: []uint32{5}})
	require.NoError(t, err)
	_, err = decodeSidecar(good)
	require.NoError(t, err)
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		_, err := decodeSidecar(bad)
		require.Error(t, err, "flipped byte %d", i)
	}
	_, err = decodeSidecar(good[:len(good)-1])
	require.Error(t, err)
}

func FuzzDecodeSidecar(f *testing.F) {
	good, _ := encodeSidecar(&sidecar{Meta: Meta{Version: 1, Size: BlockSize + 1, Replicas: []string{"x"}}, CRCs: []uint32{1, 2}})
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSidecar(b)
		if err == nil && int64(len(s.CRCs)) != blocksFor(s.Meta.Size) {
			t.Fatalf("accepted inconsistent sidecar")
		}
	})
}

func mustSnapshot(t testing.TB, c *Chunk) Snapshot {
	t.Helper()
	s, err := c.Snapshot()
	require.NoError(t, err)
	return s
}

// modelCRCs is what a chunk's checksums must be for content m.
func modelCRCs(m model) []uint32 {
	var out []uint32
	for lo := int64(0); lo < int64(len(m)); lo += BlockSize {
		out = append(out, blockCRC(m[lo:min(lo+BlockSize, int64(len(m)))]))
	}
	return out
}

// TestPatchedBlockCRC: patching a block's checksum with the bytes a write
// replaced gives the checksum of the block as rewritten, at any place and
// length in the block.
func TestPatchedBlockCRC(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		block := randBytes(r, BlockSize)
		at := r.Int64N(BlockSize)
		n := 1 + r.Int64N(BlockSize-at)
		now := randBytes(r, int(n))
		was := bytes.Clone(block[at : at+n])
		old := blockCRC(block)
		copy(block[at:], now)
		require.Equal(t, blockCRC(block), patchedBlockCRC(old, CRC(was), CRC(now), at, n), "at %d, %d bytes", at, n)
	}
	require.Equal(t, uint32(1)<<31, xPow8n(0), "no zeros: x^0")
	for _, n := range []int64{0, 1, 7, 4096, BlockSize - 1, BlockSize} {
		require.Equal(t, CRC(zeroBlock[:n]), zerosCRC(n), "%d zeros", n)
	}
}

// TestPieceCRCs: a write's pieces, cut at block boundaries, join to the
// write's checksum at any offset and length.
func TestPieceCRCs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 300 {
		off := r.Int64N(4 * BlockSize)
		p := randBytes(r, int(1+r.Int64N(3*BlockSize)))
		pieces := PieceCRCs(nil, p, off)
		require.True(t, piecesFit(pieces, int64(len(p)), off))
		require.Equal(t, CRC(p), JoinCRCs(pieces, int64(len(p)), off), "%d bytes at %d", len(p), off)
	}
	require.False(t, piecesFit(nil, 10, 0))
	require.False(t, piecesFit([]uint32{1}, BlockSize+1, 0))
}

// TestWritesKeepChecksumsCurrent: after every write, whole or partial,
// inside the chunk or growing it, each block's checksum is that of the
// model at once; so a block damaged right after a small write is caught.
func TestWritesKeepChecksumsCurrent(t *testing.T) {
	s, c := openTemp(t)
	r := rand.New(rand.NewPCG(5, 6))
	var m model
	for i := range 400 {
		off := r.Int64N(6 * BlockSize)
		n := 1 + r.Int64N(BlockSize/4)
		if i%10 == 0 {
			n = 1 + r.Int64N(3*BlockSize)
		}
		p := randBytes(r, int(n))
		if i%2 == 0 {
			require.NoError(t, c.WriteAt(p, off))
		} else {
			require.NoError(t, c.WriteAtCRCs(p, off, PieceCRCs(nil, p, off)))
		}
		m.write(p, off)
		if i%37 == 0 {
			size := r.Int64N(int64(len(m)) + BlockSize)
			require.NoError(t, c.Truncate(size))
			m.truncate(size)
		}
		require.True(t, c.stale.empty(), "write %d left a block unhashed", i)
		require.Equal(t, modelCRCs(m), c.crcs, "after write %d (%d bytes at %d)", i, n, off)
	}

	require.NoError(t, c.WriteAt([]byte("partial"), BlockSize+100))
	f, err := os.OpenFile(s.dataPath(c.id), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{^m[BlockSize+10]}, BlockSize+10)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	buf := make([]byte, 7)
	require.ErrorIs(t, c.ReadAt(buf, BlockSize+100), syscall.EIO, "a block written in part is verified at once")
}

// TestReplayedWritesRehash: while replaying, the data file may be ahead of
// the checksums, so a block written in part is hashed from the file at the
// next snapshot rather than patched from a checksum of older bytes.
func TestReplayedWritesRehash(t *testing.T) {
	s, c := openTemp(t)
	require.NoError(t, c.WriteAt(bytes.Repeat([]byte{7}, 2*BlockSize), 0))
	// The file moves ahead of the checksums, as when a crash loses the
	// sidecar written after these bytes reached the file.
	f, err := os.OpenFile(s.dataPath(c.id), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("ahead"), BlockSize+10)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	c.BeginReplay()
	require.NoError(t, c.WriteAt([]byte("ahead"), BlockSize+10)) // the replayed record
	require.NoError(t, c.WriteAt([]byte("more"), 20))
	require.True(t, c.stale.has(0) && c.stale.has(1))
	crcs, err := c.CRCs()
	require.NoError(t, err)
	require.True(t, c.stale.has(1), "CRCs does not record")

	want := model(bytes.Repeat([]byte{7}, 2*BlockSize))
	want.write([]byte("ahead"), BlockSize+10)
	want.write([]byte("more"), 20)
	require.Equal(t, modelCRCs(want), crcs)
	snap := mustSnapshot(t, c)
	require.Equal(t, modelCRCs(want), snap.side.CRCs)
	require.True(t, c.stale.empty())
	require.False(t, c.replaying, "a snapshot ends the replay")

	require.NoError(t, c.WriteAt([]byte("x"), BlockSize+5))
	require.NoError(t, c.Truncate(BlockSize+1))
	require.True(t, c.stale.empty())
	want.write([]byte("x"), BlockSize+5)
	want.truncate(BlockSize + 1)
	require.Equal(t, modelCRCs(want), c.crcs)
}

// TestSyncDataWaitsForSyncInFlight: a SyncData that arrives while another
// one's fdatasync is running returns only after it (it used to see the
// cleared flag and return at once, claiming data durable too early); and
// a new data file's directory entry is synced with its data.
func TestSyncDataWaitsForSyncInFlight(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	c, err := s.Open(1)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.WriteAt([]byte("data"), 0))
	require.True(t, c.newFile)

	entered, release := make(chan struct{}), make(chan struct{})
	s.SetBeforeSync(func(uint64) { close(entered); <-release })
	first := make(chan error, 1)
	go func() { first <- c.SyncData() }()
	<-entered
	s.SetBeforeSync(nil)
	second := make(chan error, 1)
	go func() { second <- c.SyncData() }()
	select {
	case <-second:
		t.Fatal("the second SyncData returned while the first's fdatasync was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	require.False(t, c.newFile, "the directory entry was synced")
}

// TestTailAdopt: bytes written past the end with WriteTail are not part of
// the chunk until adopted; adopting them, with their data at hand or read
// back, leaves the checksums of the content, at any alignment.
func TestTailAdopt(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, withData := range []bool{true, false} {
		_, c := openTemp(t)
		var m model
		for i := range 40 {
			off := c.Size() + r.Int64N(BlockSize/2)*int64(i%2)
			p := randBytes(r, int(1+r.Int64N(2*BlockSize)))
			require.NoError(t, c.WriteTail(p, off))
			got := make([]byte, 8)
			require.NoError(t, c.ReadAt(got, off))
			require.Equal(t, make([]byte, 8), got, "a tail is not part of the chunk before Adopt")
			switch {
			case !withData:
				require.NoError(t, c.Adopt(nil, off, int64(len(p))))
			case i%2 == 0:
				require.NoError(t, c.Adopt(p, off, int64(len(p))))
			default:
				require.NoError(t, c.AdoptCRCs(p, off, int64(len(p)), PieceCRCs(nil, p, off)))
			}
			m.write(p, off)
			require.Equal(t, modelCRCs(m), c.crcs, "adopt %d, data at hand %v", i, withData)
		}
		got := make([]byte, len(m))
		require.NoError(t, c.ReadAt(got, 0))
		require.True(t, bytes.Equal(m, got))
	}
}
