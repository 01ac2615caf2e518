package dataserver

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/peer"
)

func TestMutationRoundTrip(t *testing.T) {
	data := []byte("some data")
	patch := encodePatch([]copyBlock{{off: 0, data: data}, {off: 1 << 20, data: data}})
	overlap := encodePatch([]copyBlock{{off: 100, data: data}, {off: 104, data: data}})
	cases := []Mutation{
		{Op: OpWrite, Chunk: 1, Version: 2, Offset: 3, Data: data, CRC: chunkstore.CRC(data)},
		{Op: OpTruncate, Chunk: 1 << 60, Version: 9, Arg: 12345, CRC: chunkstore.CRC(nil)},
		{Op: OpResyncEnd, Chunk: 5, Version: 1, Arg: 64 << 20, CRC: chunkstore.CRC(nil)},
		{Op: OpReplicas, Chunk: 5, Data: encodeReplicas(&SetReplicasReq{Replicas: []Peer{{"b", "h:1"}}, Mode: ReplLazy, Owner: ChunkOwner{Ino: 9, Index: 2}}), CRC: chunkstore.CRC(encodeReplicas(&SetReplicasReq{Replicas: []Peer{{"b", "h:1"}}, Mode: ReplLazy, Owner: ChunkOwner{Ino: 9, Index: 2}}))},
		{Op: OpAppend, Chunk: 6, Version: 3, Offset: 1 << 20, Arg: 4 << 20, CRC: 0xdeadbeef},
		{Op: OpPatch, Chunk: 7, Version: 9, Offset: 4, Arg: 2 << 20, Data: patch, CRC: chunkstore.CRC(patch)},
	}
	for _, m := range cases {
		enc := m.Encode()
		require.Len(t, enc, m.Size())
		got, err := DecodeMutation(enc, 64<<20)
		require.NoError(t, err, m.Op)
		if len(m.Data) == 0 {
			m.Data = got.Data[:0]
		}
		if m.Op == OpWrite {
			require.Equal(t, chunkstore.PieceCRCs(nil, m.Data, m.Offset), got.pieces, "a decoded write keeps its pieces' checksums")
		}
		got.pieces = nil
		require.Equal(t, m, got)
	}
	bad := []struct {
		name string
		m    Mutation
	}{
		{"unknown op", Mutation{Op: 99, CRC: chunkstore.CRC(nil)}},
		{"bad crc", Mutation{Op: OpWrite, Version: 1, Data: data, CRC: 1}},
		{"past chunk", Mutation{Op: OpWrite, Version: 1, Offset: 64<<20 - 2, Data: data, CRC: chunkstore.CRC(data)}},
		{"negative offset", Mutation{Op: OpWrite, Version: 1, Offset: -1, Data: data, CRC: chunkstore.CRC(data)}},
		{"truncate too far", Mutation{Op: OpTruncate, Version: 1, Arg: 64<<20 + 1, CRC: chunkstore.CRC(nil)}},
		{"version zero", Mutation{Op: OpWrite, Data: data, CRC: chunkstore.CRC(data)}},
		{"append with data", Mutation{Op: OpAppend, Version: 1, Arg: uint64(len(data)), Data: data, CRC: chunkstore.CRC(data)}},
		{"empty append", Mutation{Op: OpAppend, Version: 1, CRC: 1}},
		{"append past chunk", Mutation{Op: OpAppend, Version: 1, Offset: 64<<20 - 2, Arg: 3, CRC: 1}},
		{"append to version zero", Mutation{Op: OpAppend, Arg: 3, CRC: 1}},
		{"patch past its size", Mutation{Op: OpPatch, Version: 9, Offset: 4, Arg: 1 << 20, Data: patch, CRC: chunkstore.CRC(patch)}},
		{"patch not forward", Mutation{Op: OpPatch, Version: 4, Offset: 4, Arg: 2 << 20, Data: patch, CRC: chunkstore.CRC(patch)}},
		{"patch overlapping", Mutation{Op: OpPatch, Version: 9, Offset: 4, Arg: 2 << 20, Data: overlap, CRC: chunkstore.CRC(overlap)}},
		{"patch cut", Mutation{Op: OpPatch, Version: 9, Offset: 4, Arg: 2 << 20, Data: patch[:20], CRC: chunkstore.CRC(patch[:20])}},
	}
	for _, tc := range bad {
		_, err := DecodeMutation(tc.m.Encode(), 64<<20)
		require.ErrorIs(t, err, errBadMutation, tc.name)
	}
	enc := cases[0].Encode()
	_, err := DecodeMutation(enc[:len(enc)-1], 64<<20)
	require.Error(t, err, "short")
}

func TestBatchRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var muts []Mutation
	var bb batchBuilder
	for i := range 50 {
		data := randBytes(r, r.IntN(5000))
		if i%2 == 0 {
			data = bytes.Repeat([]byte{byte(i)}, r.IntN(5000)) // compressible
		}
		m := Mutation{Op: OpWrite, Chunk: uint64(i % 3), Version: uint64(i + 1), Offset: int64(i) * 100, Data: data, CRC: chunkstore.CRC(data)}
		muts = append(muts, m)
		bb.add(&m)
	}
	b := bb.seal(7)
	require.True(t, b.LZ4, "half the payload compresses")
	require.Less(t, len(b.Payload), int(b.RawLen))
	// through the wire encoding too, as the transport sends it
	bufs, err := b.MarshalBuffers()
	require.NoError(t, err)
	var b2 ReplBatch
	require.NoError(t, msgrpc.Decode(bytes.Join(bufs, nil), &b2))
	require.Equal(t, *b, b2)
	got, err := decodeBatch(&b2, 64<<20)
	require.NoError(t, err)
	require.Len(t, got, len(muts))
	for i := range muts {
		require.Equal(t, muts[i].Version, got[i].Version)
		require.True(t, bytes.Equal(muts[i].Data, got[i].Data))
	}

	// incompressible payloads travel raw
	data := randBytes(r, 100000)
	bb.add(&Mutation{Op: OpWrite, Version: 1, Data: data, CRC: chunkstore.CRC(data)})
	b = bb.seal(8)
	require.False(t, b.LZ4)
	got, err = decodeBatch(b, 64<<20)
	require.NoError(t, err)
	require.Equal(t, data, got[0].Data)

	// a damaged payload is an error, never a panic
	for i := 0; i < len(b.Payload); i += 1 + i/8 {
		c := *b
		c.Payload = bytes.Clone(b.Payload)
		c.Payload[i] ^= 0x10
		_, err := decodeBatch(&c, 64<<20)
		require.Error(t, err, "byte %d", i)
	}
}

// FuzzDecodeBatch feeds garbage to the replication batch decoder, both as
// a wire message and as a payload.
func FuzzDecodeBatch(f *testing.F) {
	var bb batchBuilder
	data := bytes.Repeat([]byte("lis"), 100)
	bb.add(&Mutation{Op: OpWrite, Chunk: 1, Version: 1, Data: data, CRC: chunkstore.CRC(data)})
	bb.add(&Mutation{Op: OpTruncate, Chunk: 1, Version: 2, Arg: 10, CRC: chunkstore.CRC(nil)})
	raw := bytes.Clone(bb.raw)
	good := bb.seal(1)
	wire, _ := msgpack.Marshal(good)
	f.Add(wire, good.Payload, good.RawLen, true)
	f.Add([]byte{0x80}, raw, uint32(len(raw)), false)
	f.Fuzz(func(t *testing.T, wire, payload []byte, rawLen uint32, compressed bool) {
		var b ReplBatch
		if msgrpc.Decode(wire, &b) == nil {
			_, _ = decodeBatch(&b, 64<<20)
		}
		// with the right checksum, so the fuzzer gets past it
		raw := payload
		if compressed && rawLen <= MaxBatchRaw {
			dst := make([]byte, rawLen)
			if n, err := lz4.UncompressBlock(payload, dst); err == nil {
				raw = dst[:n]
			}
		}
		muts, err := decodeBatch(&ReplBatch{RawLen: rawLen, CRC: chunkstore.CRC(raw), LZ4: compressed, Payload: payload}, 64<<20)
		if err != nil {
			return
		}
		for _, m := range muts {
			if m.validate(64<<20) != nil {
				t.Fatalf("decoded an invalid mutation: %+v", m)
			}
		}
	})
}

// FuzzDecodeRequest decodes garbage into every request type with msgrpc's
// decoder (exactly what the server does with a request; a write from the
// Writes stream also names shared-memory windows) and hands whatever
// decodes to the server: nothing may panic, and the server must keep
// serving.
func FuzzDecodeRequest(f *testing.F) {
	seeds := []any{
		&WriteReq{Chunk: 1, Offset: 10, Data: []byte("hello"), CRC: chunkstore.CRC([]byte("hello"))},
		&ReadReq{Chunk: 1, Offset: 0, Length: 100},
		&TruncateReq{Chunk: 1, AnyVersion: true, Size: 3},
		&Lease{Chunk: 2, Holder: "f", Epoch: 1, Expiry: 1 << 62},
		&SetReplicasReq{Chunk: 1, Replicas: []Peer{{ID: "x", Addr: "127.0.0.1:1"}}},
		&SyncReq{Chunk: 1},
		&streamWrite{ID: 7, Req: WriteReq{Chunk: 1, Shm: 3, ShmOff: 4096, ShmLen: 100}},
		&DeleteReq{Chunk: 1},
		&RevokeLeaseReq{Chunk: 2, Epoch: 1},
		&ChunkReq{Chunk: 1},
	}
	for i, s := range seeds {
		b, err := msgpack.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(0), []byte{0xc6, 0xff, 0xff, 0xff, 0xff}) // bin32 claiming 4 GiB
	ts := startServer(f, shortDir(f), "fuzz", func(c *Config) { c.ChunkSize = 1 << 20; c.MaxWrite = 64 << 10 })
	e := ts.e
	ctx := context.Background()
	// as the Writes stream sees a co-located client
	unixCtx := peer.NewContext(ctx, &peer.Peer{Addr: &net.UnixAddr{Name: "@", Net: "unix"}})
	handlers := []func([]byte){ // in the order of seeds
		decoded(func(r *WriteReq) { _, _ = e.write(ctx, r) }),
		decoded(func(r *ReadReq) { _, _ = e.read(r) }),
		decoded(func(r *TruncateReq) { _, _ = e.truncate(ctx, r) }),
		decoded(func(r *Lease) { _ = e.grantLease(ctx, r) }),
		decoded(func(r *SetReplicasReq) { _ = ts.setReplicas(ctx, r) }),
		decoded(func(r *SyncReq) { _, _ = e.sync(ctx, r) }),
		decoded(func(w *streamWrite) {
			if ts.loadShm(unixCtx, &w.Req) == nil {
				_, _ = e.write(ctx, &w.Req)
			}
		}),
		decoded(func(r *DeleteReq) { _ = ts.deleteChunk(ctx, r.Chunk, r.Quarantine) }),
		decoded(func(r *RevokeLeaseReq) { _ = e.revokeLease(ctx, r) }),
		decoded(func(r *ChunkReq) {
			_, _ = e.info(r.Chunk)
			_, _ = e.checksums(r.Chunk)
		}),
	}
	require.Len(f, handlers, len(seeds))
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) { handlers[int(kind)%len(handlers)](b) })
	_, err := ts.client.Stat(ctx)
	require.NoError(f, err, "the server still serves")
}

// decoded returns a handler that decodes its input into a T with msgrpc's
// decoder, as the server does, and hands whatever decodes to fn.
func decoded[T any](fn func(*T)) func([]byte) {
	return func(b []byte) {
		var r T
		if msgrpc.Decode(b, &r) == nil {
			fn(&r)
		}
	}
}

// TestWriteReqDecode: the custom decoder reads what msgpack encodes from
// the struct tags, keeps room for the journal header, and skips unknown
// keys.
func TestWriteReqDecode(t *testing.T) {
	want := WriteReq{Chunk: 9, ExpectedVersion: 3, AnyVersion: true, Offset: -7, Data: []byte("payload"), CRC: 42, Sync: true}
	b, err := msgpack.Marshal(&want)
	require.NoError(t, err)
	var got WriteReq
	require.NoError(t, msgrpc.Decode(b, &got))
	require.Len(t, got.frame, mutationHeader+len(want.Data))
	got.frame = nil
	require.Equal(t, want, got)

	extra, err := msgpack.Marshal(map[string]any{"c": 1, "zz": []int{1, 2}, "d": nil})
	require.NoError(t, err)
	got = WriteReq{}
	require.NoError(t, msgrpc.Decode(extra, &got))
	require.Equal(t, WriteReq{Chunk: 1}, got)

	m := Mutation{Op: OpWrite, Chunk: 9, Version: 4, Offset: 7, CRC: chunkstore.CRC(want.Data)}
	b, _ = msgpack.Marshal(&want)
	require.NoError(t, msgrpc.Decode(b, &got))
	m.Data, m.frame = got.Data, got.frame
	enc := m.encodeFramed()
	require.Equal(t, m.Encode(), enc)
	require.Same(t, &got.frame[0], &enc[0], "encoded in place")
}

func TestReplicaListRoundTrip(t *testing.T) {
	for _, req := range []SetReplicasReq{
		{Replicas: []Peer{{"b", "h:1"}, {"c", "unix:/x"}}},
		{Replicas: []Peer{{"b", "h:1"}}, Mode: ReplLazy, Owner: ChunkOwner{Ino: 1 << 40, Index: 7}},
		{Mode: ReplSync},
	} {
		require.Equal(t, req, decodeReplicas(encodeReplicas(&req)))
	}
	old := decodeReplicas([]byte("b=h:1\n")) // as written before modes and owners
	require.Equal(t, SetReplicasReq{Replicas: []Peer{{"b", "h:1"}}}, old)
}
