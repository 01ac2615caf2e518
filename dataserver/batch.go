package dataserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/pierrec/lz4/v4"
	"github.com/vmihailenco/msgpack/v5"
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
	// Refused are chunks the receiver is the primary of: the sender is
	// not, any more, and stops shipping them.
	Refused []uint64 `msgpack:"x,omitempty"`
}

// MaxBatchRaw bounds a batch's uncompressed payload; a receiver refuses
// anything larger before allocating for it.
const MaxBatchRaw = 32 << 20

var errBadBatch = errors.New("malformed replication batch")

// batchBuilder accumulates encoded mutations into one payload.
//
// Payloads are large (a batch is ReplBatchBytes) and a fresh one per batch
// costs more than the rest of shipping it (zeroing, page faults, GC), so
// the session hands the payloads of acknowledged batches back (recycle):
// once the peer acknowledged a batch the transport is done with its bytes.
type batchBuilder struct {
	raw     []byte
	n       int
	scratch []byte      // lz4 output, reused from batch to batch
	free    chan []byte // recycled payloads (nil: none are)
	keepCap int         // the smallest payload worth recycling
}

// newBatchBuilder returns a builder of batches of about size bytes that
// recycles up to keep payloads.
func newBatchBuilder(size, keep int) batchBuilder {
	return batchBuilder{free: make(chan []byte, keep), keepCap: size}
}

// recycle offers buf, a payload the transport is done with, for reuse. It
// may be called from another goroutine than the builder's.
func (b *batchBuilder) recycle(buf []byte) {
	if b.free == nil || cap(buf) < b.keepCap {
		return // a compressed payload, smaller than a batch: let it go
	}
	select {
	case b.free <- buf[:0]:
	default:
	}
}

// newRaw returns an empty payload buffer: a recycled one if there is one.
func (b *batchBuilder) newRaw(capacity int) []byte {
	select {
	case buf := <-b.free:
		return buf
	default:
		return make([]byte, 0, capacity)
	}
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

// addAppend adds the OpWrite a replica applies for the journal record of
// an append (engine.appendAsWrite); false if its data is no longer there.
func (b *batchBuilder) addAppend(e *engine, rec []byte) bool {
	raw, ok := e.appendAsWrite(b.raw, rec)
	if ok {
		b.raw = raw
		b.n++
	}
	return ok
}

func (b *batchBuilder) len() int { return len(b.raw) }

func (b *batchBuilder) reset() { b.raw, b.n = b.raw[:0], 0 }

// seal compresses the payload into a batch and resets the builder. The
// batch does not alias the builder: an incompressible payload is handed
// over whole (the builder starts a new one), a compressed one copied out
// of the scratch buffer. Either way a batch costs one allocation of its
// payload's size, whose last user is the transport.
func (b *batchBuilder) seal(seq uint64) *ReplBatch {
	out := &ReplBatch{Seq: seq, RawLen: uint32(len(b.raw)), CRC: chunkstore.CRC(b.raw)}
	if bound := lz4.CompressBlockBound(len(b.raw)); cap(b.scratch) < bound {
		b.scratch = make([]byte, bound)
	}
	var c lz4.Compressor
	n, err := c.CompressBlock(b.raw, b.scratch[:cap(b.scratch)])
	if err == nil && n > 0 && n < len(b.raw)-len(b.raw)/16 {
		out.LZ4, out.Payload = true, bytes.Clone(b.scratch[:n])
		b.reset()
		return out
	}
	out.Payload = b.raw // incompressible: ship raw
	b.raw, b.n = b.newRaw(cap(b.raw)), 0
	return out
}

// MarshalBuffers encodes the batch as msgpack with the payload last, as
// two slices, so that the transport sends the payload without a copy
// (msgrpc.BufferMarshaler); it decodes like the struct.
func (rb *ReplBatch) MarshalBuffers() ([][]byte, error) {
	var head bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&head)
	err := errors.Join(
		enc.EncodeMapLen(5),
		enc.EncodeString("q"), enc.EncodeUint(rb.Seq),
		enc.EncodeString("n"), enc.EncodeUint(uint64(rb.RawLen)),
		enc.EncodeString("k"), enc.EncodeUint(uint64(rb.CRC)),
		enc.EncodeString("z"), enc.EncodeBool(rb.LZ4),
		enc.EncodeString("p"), enc.EncodeBytesLen(len(rb.Payload)),
	)
	if err != nil {
		return nil, err
	}
	return [][]byte{head.Bytes(), rb.Payload}, nil
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
