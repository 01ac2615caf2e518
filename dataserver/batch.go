package dataserver

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/pierrec/lz4/v4"
)

// ReplBatch is one message of a replication stream from sender to
// receiver: mutations in the sender's journal order, lz4-compressed when
// that helps. The uncompressed payload is a sequence of
// [u32 length][encoded Mutation]; CRC is its CRC32C (a Mutation's own
// checksum covers only its data).
type ReplBatch struct {
	Seq     uint64 `msgpack:"q"`
	RawLen  uint32 `msgpack:"n"`
	CRC     uint32 `msgpack:"k"`
	LZ4     bool   `msgpack:"z,omitempty"`
	Payload []byte `msgpack:"p"`
}

// ReplAck is one message of a replication stream from receiver to sender:
// every batch up to Seq has been applied and is durable on the receiver,
// which now holds Versions (chunk → version, for the chunks those batches
// touched). NeedResync lists chunks the receiver cannot continue from the
// stream (a version gap, or a chunk it does not have), which the sender
// must bring back with a full copy.
type ReplAck struct {
	Seq        uint64            `msgpack:"q"`
	Versions   map[uint64]uint64 `msgpack:"v,omitempty"`
	NeedResync []uint64          `msgpack:"r,omitempty"`
}

// MaxBatchRaw bounds a batch's uncompressed payload; a receiver refuses
// anything larger before allocating for it.
const MaxBatchRaw = 32 << 20

var errBadBatch = errors.New("malformed replication batch")

// batchBuilder accumulates encoded mutations into one payload.
type batchBuilder struct {
	raw []byte
	n   int
}

func (b *batchBuilder) add(m *Mutation) {
	b.raw = binary.LittleEndian.AppendUint32(b.raw, uint32(m.Size()))
	b.raw = m.AppendTo(b.raw)
	b.n++
}

func (b *batchBuilder) addEncoded(enc []byte) {
	b.raw = binary.LittleEndian.AppendUint32(b.raw, uint32(len(enc)))
	b.raw = append(b.raw, enc...)
	b.n++
}

func (b *batchBuilder) len() int { return len(b.raw) }

func (b *batchBuilder) reset() { b.raw, b.n = b.raw[:0], 0 }

// seal compresses the payload into a batch. The batch does not alias the
// builder, which may be reset and reused.
func (b *batchBuilder) seal(seq uint64) *ReplBatch {
	out := &ReplBatch{Seq: seq, RawLen: uint32(len(b.raw)), CRC: chunkstore.CRC(b.raw)}
	dst := make([]byte, lz4.CompressBlockBound(len(b.raw)))
	var c lz4.Compressor
	n, err := c.CompressBlock(b.raw, dst)
	if err == nil && n > 0 && n < len(b.raw)-len(b.raw)/16 {
		out.LZ4, out.Payload = true, dst[:n]
		return out
	}
	out.Payload = append([]byte(nil), b.raw...) // incompressible: ship raw
	return out
}

// decodeBatch returns the mutations of a batch, each validated with
// DecodeMutation. Garbage is an error wrapping errBadBatch, never a panic
// or an allocation past MaxBatchRaw.
func decodeBatch(b *ReplBatch, maxChunk int64) ([]Mutation, error) {
	if b.RawLen > MaxBatchRaw {
		return nil, fmt.Errorf("%w: %d bytes uncompressed", errBadBatch, b.RawLen)
	}
	raw := b.Payload
	if b.LZ4 {
		raw = make([]byte, b.RawLen)
		n, err := lz4.UncompressBlock(b.Payload, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: lz4: %v", errBadBatch, err)
		}
		raw = raw[:n]
	}
	if len(raw) != int(b.RawLen) {
		return nil, fmt.Errorf("%w: %d bytes, header says %d", errBadBatch, len(raw), b.RawLen)
	}
	if chunkstore.CRC(raw) != b.CRC {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadBatch)
	}
	var out []Mutation
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, fmt.Errorf("%w: truncated entry length", errBadBatch)
		}
		n := binary.LittleEndian.Uint32(raw)
		raw = raw[4:]
		if uint64(n) > uint64(len(raw)) {
			return nil, fmt.Errorf("%w: entry of %d bytes in %d", errBadBatch, n, len(raw))
		}
		m, err := DecodeMutation(raw[:n], maxChunk)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", errBadBatch, len(out), err)
		}
		out = append(out, m)
		raw = raw[n:]
	}
	return out, nil
}
