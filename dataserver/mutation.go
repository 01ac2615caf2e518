package dataserver

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lis-fs/lis/dataserver/chunkstore"
)

// Op is the kind of a Mutation.
type Op uint8

const (
	// OpWrite writes Data at Offset and makes the chunk Version.
	OpWrite Op = 1 + iota
	// OpTruncate sets the size to Arg and makes the chunk Version.
	OpTruncate
	// OpDelete removes the chunk; with Arg argQuarantine its files are
	// kept in the chunk store's quarantine instead (see
	// chunkstore.Quarantine). Not replicated: each copy is deleted by its
	// own dataserver when the metaservice says so.
	OpDelete
	// OpLease records that the chunk's lease epoch reached Arg, so a lower
	// epoch is refused after a restart too. Not replicated.
	OpLease
	// OpReplicas sets the chunk's replica list (Data: peers, one
	// "id=addr" per line). Not replicated.
	OpReplicas
	// OpResyncBegin starts a full copy that will end at Version: until
	// OpResyncEnd the replica's chunk is not a consistent version and is
	// not readable. Arg, when not 0, is 1 + the version the copy was
	// planned against: a replica at another version refuses it (a gap).
	OpResyncBegin
	// OpResyncData writes one block of a full copy (no version change).
	OpResyncData
	// OpResyncEnd ends a full copy: the size becomes Arg and the version
	// Version.
	OpResyncEnd
	// OpAppend writes Arg bytes at Offset, past the chunk's end, and makes
	// the chunk Version. The bytes went straight into the chunk file and
	// were made durable there before this record was journaled, so the
	// record carries only their checksum (CRC) and length (see append.go).
	// Replicas receive it as an OpWrite with the data.
	OpAppend
	// OpPatch takes a replica from version Offset (its base) straight to
	// Version in one record: Data holds blocks to write (see patch.go),
	// then the size becomes Arg. A lazy replication batch is one patch, so
	// a replica applies it whole or not at all.
	OpPatch
	opLimit
)

// argQuarantine is OpDelete's Arg for a copy to be quarantined, not
// removed.
const argQuarantine = 1

var opNames = [...]string{"?", "write", "truncate", "delete", "lease", "replicas", "resync-begin", "resync-data", "resync-end", "append", "patch"}

func (o Op) String() string {
	if o < opLimit {
		return opNames[o]
	}
	return fmt.Sprintf("op%d", uint8(o))
}

// replicated reports whether mutations of this kind are shipped to
// replicas from the journal. The resync ops are never in a primary's
// journal; they are made by the sender.
func (o Op) replicated() bool { return o == OpWrite || o == OpTruncate || o == OpAppend }

// cuts reports whether applying the op may shorten the chunk file or
// rewrite it wholesale (see appendable).
func (o Op) cuts() bool {
	return o == OpTruncate || o == OpResyncBegin || o == OpResyncData || o == OpResyncEnd || o == OpDelete || o == OpPatch
}

// bumpsVersion reports whether applying the op makes the chunk Version
// (as opposed to leaving the version where it is).
func (o Op) bumpsVersion() bool {
	return o == OpWrite || o == OpTruncate || o == OpResyncEnd || o == OpAppend || o == OpPatch
}

// Mutation is one journal record of a dataserver and one entry of a
// replication batch: the unit that is made durable, applied to a chunk and
// shipped, in that order.
//
// Encoding (little-endian), mutationHeader bytes then Data:
//
//	0  1 op
//	1  8 chunk
//	9  8 version
//	17 8 offset
//	25 8 arg
//	33 4 crc32c of data
//	37 4 length of data
type Mutation struct {
	Op      Op
	Chunk   uint64
	Version uint64
	Offset  int64
	Arg     uint64
	CRC     uint32
	Data    []byte

	// frame, when set, is a buffer whose tail is Data with room for the
	// header in front (see encodeFramed).
	frame []byte
	// pieces, when set, are chunkstore.PieceCRCs of Data at Offset, taken
	// when the write's checksum was checked; applying it then needs no
	// pass of its own over Data. Never encoded.
	pieces []uint32
}

const mutationHeader = 41

var errBadMutation = errors.New("malformed mutation")

// Size is the encoded length of m.
func (m *Mutation) Size() int { return mutationHeader + len(m.Data) }

// AppendTo appends m's encoding to dst.
func (m *Mutation) AppendTo(dst []byte) []byte {
	return append(m.appendHeader(dst), m.Data...)
}

// appendHeader appends the mutationHeader bytes of m's encoding to dst.
func (m *Mutation) appendHeader(dst []byte) []byte {
	dst = append(dst, byte(m.Op))
	dst = binary.LittleEndian.AppendUint64(dst, m.Chunk)
	dst = binary.LittleEndian.AppendUint64(dst, m.Version)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.Offset))
	dst = binary.LittleEndian.AppendUint64(dst, m.Arg)
	dst = binary.LittleEndian.AppendUint32(dst, m.CRC)
	return binary.LittleEndian.AppendUint32(dst, uint32(len(m.Data)))
}

// Encode returns m's encoding.
func (m *Mutation) Encode() []byte { return m.AppendTo(make([]byte, 0, m.Size())) }

// decodeHeader decodes the header fields of an encoded mutation without
// checking it (for a sender filtering its own journal, which the journal's
// checksums protect; the receiver runs DecodeMutation).
func decodeHeader(b []byte) (Mutation, bool) {
	if len(b) < mutationHeader {
		return Mutation{}, false
	}
	return Mutation{
		Op:      Op(b[0]),
		Chunk:   binary.LittleEndian.Uint64(b[1:]),
		Version: binary.LittleEndian.Uint64(b[9:]),
		Offset:  int64(binary.LittleEndian.Uint64(b[17:])),
		Arg:     binary.LittleEndian.Uint64(b[25:]),
	}, true
}

// DecodeMutation decodes one mutation that fills b exactly. Data aliases b.
// It checks everything that can be checked without the chunk: a known op,
// the length, the data checksum, offsets within maxChunk. It never panics.
func DecodeMutation(b []byte, maxChunk int64) (Mutation, error) {
	if len(b) < mutationHeader {
		return Mutation{}, fmt.Errorf("%w: %d bytes", errBadMutation, len(b))
	}
	m := Mutation{
		Op:      Op(b[0]),
		Chunk:   binary.LittleEndian.Uint64(b[1:]),
		Version: binary.LittleEndian.Uint64(b[9:]),
		Offset:  int64(binary.LittleEndian.Uint64(b[17:])),
		Arg:     binary.LittleEndian.Uint64(b[25:]),
		CRC:     binary.LittleEndian.Uint32(b[33:]),
	}
	n := binary.LittleEndian.Uint32(b[37:])
	if uint64(n) != uint64(len(b)-mutationHeader) {
		return Mutation{}, fmt.Errorf("%w: length %d in %d bytes", errBadMutation, n, len(b))
	}
	m.Data = b[mutationHeader:]
	if err := m.validate(maxChunk); err != nil {
		return Mutation{}, err
	}
	return m, nil
}

// validate checks m's fields against each other and the chunk size.
func (m *Mutation) validate(maxChunk int64) error {
	if m.Op == 0 || m.Op >= opLimit {
		return fmt.Errorf("%w: unknown op %d", errBadMutation, m.Op)
	}
	if m.Op == OpAppend {
		return m.validateAppend(maxChunk)
	}
	var crc uint32
	switch m.Op {
	case OpWrite, OpResyncData:
		if m.Offset < 0 || m.Offset > maxChunk || int64(len(m.Data)) > maxChunk-m.Offset {
			return fmt.Errorf("%w: %s of chunk %x at %d+%d past chunk size", errBadMutation, m.Op, m.Chunk, m.Offset, len(m.Data))
		}
		// Checked piece by piece, so that applying it hashes nothing again.
		m.pieces, crc = checksumPieces(nil, m.Data, m.Offset)
	case OpPatch:
		if err := validatePatch(m, maxChunk); err != nil {
			return err
		}
		crc = chunkstore.CRC(m.Data)
	case OpTruncate, OpResyncEnd:
		if m.Arg > uint64(maxChunk) {
			return fmt.Errorf("%w: %s of chunk %x to %d past chunk size", errBadMutation, m.Op, m.Chunk, m.Arg)
		}
		crc = chunkstore.CRC(m.Data)
	default:
		crc = chunkstore.CRC(m.Data)
	}
	if crc != m.CRC {
		return fmt.Errorf("%w: %s of chunk %x: data checksum mismatch", errBadMutation, m.Op, m.Chunk)
	}
	if m.Op.bumpsVersion() && m.Version == 0 {
		return fmt.Errorf("%w: %s of chunk %x to version 0", errBadMutation, m.Op, m.Chunk)
	}
	return nil
}

// checksumPieces returns the chunkstore.PieceCRCs of data written at off
// (appended to dst) and the CRC32C they join to: one pass over the data
// gives both the write's checksum and the block checksums its apply needs.
func checksumPieces(dst []uint32, data []byte, off int64) ([]uint32, uint32) {
	pieces := chunkstore.PieceCRCs(dst, data, off)
	return pieces, chunkstore.JoinCRCs(pieces, int64(len(data)), off)
}

// validateAppend checks an OpAppend record: no data, a length and an
// offset within the chunk. Its CRC is the data's, which is in the chunk file.
func (m *Mutation) validateAppend(maxChunk int64) error {
	switch {
	case len(m.Data) != 0:
		return fmt.Errorf("%w: append to chunk %x carries %d bytes of data", errBadMutation, m.Chunk, len(m.Data))
	case m.Arg == 0 || m.Arg > uint64(maxChunk) || m.Offset < 0 || m.Offset > maxChunk-int64(m.Arg):
		return fmt.Errorf("%w: append to chunk %x at %d+%d past chunk size", errBadMutation, m.Chunk, m.Offset, m.Arg)
	case m.Version == 0:
		return fmt.Errorf("%w: append to chunk %x to version 0", errBadMutation, m.Chunk)
	}
	return nil
}

// end is the first byte past the data of a write.
func (m *Mutation) end() int64 {
	if m.Op == OpAppend {
		return m.Offset + int64(m.Arg) // the record of an append carries no data
	}
	return m.Offset + int64(len(m.Data))
}
