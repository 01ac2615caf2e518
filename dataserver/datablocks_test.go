package dataserver

import (
	"bytes"
	"context"
	"testing"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/stretchr/testify/require"
)

func TestDataBlocksSet(t *testing.T) {
	var d dataBlocks
	const B = chunkstore.BlockSize
	d.add(0, 1)
	d.add(B-1, B+1) // two blocks
	d.add(100*B, 100*B+B)
	require.Equal(t, uint32(3), d.count())
	d.cut(B + 1) // block 1 keeps its first byte
	require.Equal(t, uint32(2), d.count())
	d.cut(B)
	require.Equal(t, uint32(1), d.count())
	d.add(5, 5) // nothing
	d.cut(0)
	require.Zero(t, d.count())
}

// TestWriteReportsDataBlocks: a write's answer counts the chunk's blocks
// that hold data, holes excluded, and so does a restarted dataserver.
func TestWriteReportsDataBlocks(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	a := startServer(t, dir, "a", nil)
	const chunk = 0x5a
	const B = chunkstore.BlockSize
	var resp *WriteResp
	for _, off := range []int64{10 * B, 3 * B, 40*B - 100} { // the last spans two blocks
		var err error
		resp, err = a.client.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Offset: off, Data: bytes.Repeat([]byte{7}, 200)})
		require.NoError(t, err)
	}
	require.Equal(t, uint32(4), resp.Blocks)
	resp, err := a.client.Truncate(ctx, TruncateReq{Chunk: chunk, AnyVersion: true, Size: 20 * B})
	require.NoError(t, err)
	require.Equal(t, uint32(2), resp.Blocks, "the blocks past the cut are gone")
	resp, err = a.client.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Offset: 3 * B, Data: []byte{1}, Sync: true})
	require.NoError(t, err)
	require.Equal(t, uint32(2), resp.Blocks, "an overwrite adds none")

	a.stop(t)
	a = startServer(t, dir, "a", nil)
	resp, err = a.client.Write(ctx, WriteReq{Chunk: chunk, AnyVersion: true, Offset: 60 * B, Data: []byte{1}})
	require.NoError(t, err)
	require.Equal(t, uint32(3), resp.Blocks, "counted again from the checksums after a restart")
}

func TestDataBlocksZeros(t *testing.T) {
	var d dataBlocks
	const B = chunkstore.BlockSize
	d.write(0, bytes.Repeat([]byte{1}, 3*B))
	require.Equal(t, uint32(3), d.count())
	d.write(B, make([]byte, B)) // a punched hole
	require.Equal(t, uint32(2), d.count())
	d.write(10, make([]byte, 100))     // zeros into part of a data block: still data
	d.write(5*B+10, make([]byte, 100)) // ... and of a hole: still a hole
	require.Equal(t, uint32(2), d.count())
	data := make([]byte, 2*B)
	data[B+7] = 1
	d.write(7*B, data) // one zero block, one with a byte
	require.Equal(t, uint32(3), d.count())
}
