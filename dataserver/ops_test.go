package dataserver

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/stretchr/testify/require"
)

func TestWriteReadTruncateDelete(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, shortDir(t), "ds1", nil)
	c := ts.client
	r := rand.New(rand.NewPCG(1, 1))
	const chunk = 0x1234

	_, err := c.Read(ctx, chunk, 0, 10)
	require.ErrorIs(t, err, syscall.ENOENT, "a chunk never written does not exist")

	var m chunkModel
	type step struct {
		name     string
		write    bool
		off, n   int64
		truncate int64
	}
	steps := []step{
		{name: "first write", write: true, off: 0, n: 1000},
		{name: "write past a hole", write: true, off: 3*chunkstore.BlockSize + 17, n: 5000},
		{name: "overwrite across blocks", write: true, off: chunkstore.BlockSize - 10, n: chunkstore.BlockSize + 20},
		{name: "shrink", truncate: chunkstore.BlockSize + 3},
		{name: "grow", truncate: 5 * chunkstore.BlockSize},
		{name: "write after grow", write: true, off: 4*chunkstore.BlockSize - 1, n: 2},
	}
	version := uint64(0)
	for _, s := range steps {
		var resp *WriteResp
		if s.write {
			p := randBytes(r, int(s.n))
			resp, err = c.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: version, Offset: s.off, Data: p})
			m.write(s.off, p)
		} else {
			resp, err = c.Truncate(ctx, TruncateReq{Chunk: chunk, ExpectedVersion: version, Size: s.truncate})
			m.truncate(s.truncate)
		}
		require.NoError(t, err, s.name)
		version++
		require.Equal(t, version, resp.Version, s.name)
		require.Equal(t, int64(len(m)), resp.Size, s.name)
		// reads see the mutation at once, whether or not it is applied yet
		for _, rg := range [][2]int64{{0, int64(len(m)) + 100}, {s.off, 10}, {chunkstore.BlockSize - 1, 3}} {
			got, err := c.Read(ctx, chunk, rg[0], rg[1])
			require.NoError(t, err)
			want := make([]byte, rg[1])
			if rg[0] < int64(len(m)) {
				copy(want, m[rg[0]:])
			}
			require.Equal(t, want, got.Data, "%s: range %v", s.name, rg)
			require.Equal(t, version, got.Version)
		}
	}
	v, err := c.Sync(ctx, chunk)
	require.NoError(t, err)
	require.Equal(t, version, v)
	info, err := c.ChunkInfo(ctx, chunk)
	require.NoError(t, err)
	require.Equal(t, version, info.DurableVersion)

	require.NoError(t, c.Delete(ctx, chunk))
	_, err = c.Read(ctx, chunk, 0, 1)
	require.ErrorIs(t, err, syscall.ENOENT)
	require.NoError(t, c.Delete(ctx, chunk), "deleting again is fine")
	// Until the delete is applied the id takes no writes; after, a write
	// starts a new chunk: the old one is never resurrected.
	resp, err := c.Write(ctx, WriteReq{Chunk: chunk, Offset: 10, Data: []byte("x")})
	if err != nil {
		require.ErrorIs(t, err, syscall.ENOENT)
		return
	}
	require.Equal(t, uint64(1), resp.Version)
	got, err := c.Read(ctx, chunk, 0, 100)
	require.NoError(t, err)
	require.Equal(t, append(make([]byte, 10), 'x'), got.Data[:11])
	require.Equal(t, int64(11), got.Size)
}

func TestWriteRefusals(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, shortDir(t), "ds1", func(c *Config) { c.NoLeases = false })
	c := ts.client
	now := time.Now()
	const chunk = 7

	_, err := c.Write(ctx, WriteReq{Chunk: chunk, Data: []byte("a")})
	require.ErrorIs(t, err, syscall.EPERM, "no lease")

	require.NoError(t, c.GrantLease(ctx, Lease{Chunk: chunk, Holder: "other", Epoch: 1, Expiry: now.Add(time.Hour).UnixNano()}))
	_, err = c.Write(ctx, WriteReq{Chunk: chunk, Data: []byte("a")})
	require.ErrorIs(t, err, syscall.EPERM, "lease held by another dataserver")
	require.ErrorContains(t, err, "held by other")

	require.NoError(t, c.GrantLease(ctx, Lease{Chunk: chunk, Holder: "ds1", Epoch: 2, Expiry: now.Add(-time.Second).UnixNano()}))
	_, err = c.Write(ctx, WriteReq{Chunk: chunk, Data: []byte("a")})
	require.ErrorIs(t, err, syscall.EPERM, "expired lease")
	require.ErrorContains(t, err, "expired")

	err = c.GrantLease(ctx, Lease{Chunk: chunk, Holder: "ds1", Epoch: 1, Expiry: now.Add(time.Hour).UnixNano()})
	require.ErrorIs(t, err, syscall.ESTALE, "lower epoch")

	require.NoError(t, c.GrantLease(ctx, Lease{Chunk: chunk, Holder: "ds1", Epoch: 3, Expiry: now.Add(time.Hour).UnixNano()}))
	resp, err := c.Write(ctx, WriteReq{Chunk: chunk, Data: []byte("a")})
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.Version)

	cases := []struct {
		name  string
		req   WriteReq
		errno syscall.Errno
	}{
		{"stale version", WriteReq{Chunk: chunk, ExpectedVersion: 0, Data: []byte("b")}, syscall.ESTALE},
		{"future version", WriteReq{Chunk: chunk, ExpectedVersion: 5, Data: []byte("b")}, syscall.ESTALE},
		{"past chunk end", WriteReq{Chunk: chunk, AnyVersion: true, Offset: 64<<20 - 1, Data: []byte("bb")}, syscall.EFBIG},
		{"negative offset", WriteReq{Chunk: chunk, AnyVersion: true, Offset: -1, Data: []byte("b")}, syscall.EINVAL},
		{"empty", WriteReq{Chunk: chunk, AnyVersion: true}, syscall.EINVAL},
	}
	for _, tc := range cases {
		_, err := c.Write(ctx, tc.req)
		require.ErrorIs(t, err, tc.errno, tc.name)
	}
	// a corrupted payload (checksum computed by the client, then damaged)
	// is refused
	bad := WriteReq{Chunk: chunk, AnyVersion: true, Data: []byte("hello"), CRC: chunkstore.CRC([]byte("hellp"))}
	_, err = call[WriteReq, WriteResp](ctx, c, "Write", &bad)
	require.ErrorIs(t, err, syscall.EBADMSG)

	require.NoError(t, c.RevokeLease(ctx, chunk, 3))
	_, err = c.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Data: []byte("c")})
	require.ErrorIs(t, err, syscall.EPERM, "revoked")

	// the highest epoch survives a restart
	ts.stop(t)
	ts2 := startServer(t, ts.cfg.Dir, "ds1", func(c *Config) { c.NoLeases = false })
	err = ts2.client.GrantLease(ctx, Lease{Chunk: chunk, Holder: "ds1", Epoch: 2, Expiry: now.Add(time.Hour).UnixNano()})
	require.ErrorIs(t, err, syscall.ESTALE)
}

func TestRestartKeepsVersionsAndData(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	r := rand.New(rand.NewPCG(2, 2))
	models := map[uint64]*chunkModel{}
	versions := map[uint64]uint64{}
	ts := startServer(t, dir, "ds1", func(c *Config) { c.CheckpointInterval = time.Hour })
	for i := range 200 {
		chunk := uint64(1 + i%5)
		if models[chunk] == nil {
			models[chunk] = &chunkModel{}
		}
		off := r.Int64N(4 << 20)
		p := randBytes(r, 1+r.IntN(200<<10))
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: versions[chunk], Offset: off, Data: p})
		require.NoError(t, err)
		versions[chunk] = resp.Version
		models[chunk].write(off, p)
	}
	ts.stop(t)
	ts2 := startServer(t, dir, "ds1", nil)
	for chunk, m := range models {
		resp, data := readAll(t, ts2.client, chunk)
		require.Equal(t, versions[chunk], resp.Version)
		require.Equal(t, []byte(*m), data)
	}
}

// TestCorruptBlockReadIsEIO: a block damaged on disk fails the reads that
// touch it with EIO (across the RPC), is counted, and never returns bad
// data; other blocks still read.
func TestCorruptBlockReadIsEIO(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	ts := startServer(t, dir, "ds1", nil)
	data := randBytes(rand.New(rand.NewPCG(8, 8)), 3*chunkstore.BlockSize)
	_, err := ts.client.Write(ctx, WriteReq{Chunk: 0xbad, Offset: 0, Data: data, Sync: true})
	require.NoError(t, err)
	ts.stop(t) // applied and checkpointed

	path := filepath.Join(dir, "chunks", "ad", "0000000000000bad.dat")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{data[chunkstore.BlockSize+5] ^ 1}, chunkstore.BlockSize+5)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	ts = startServer(t, dir, "ds1", nil)
	_, err = ts.client.Read(ctx, 0xbad, chunkstore.BlockSize, 10)
	require.ErrorIs(t, err, syscall.EIO)
	_, err = ts.client.Read(ctx, 0xbad, 0, 3*chunkstore.BlockSize)
	require.ErrorIs(t, err, syscall.EIO)
	r, err := ts.client.Read(ctx, 0xbad, 2*chunkstore.BlockSize, 100)
	require.NoError(t, err)
	require.Equal(t, data[2*chunkstore.BlockSize:2*chunkstore.BlockSize+100], r.Data)
	st, err := ts.client.Stat(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), st.ChecksumErrors)
}
