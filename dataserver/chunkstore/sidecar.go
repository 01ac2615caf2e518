package chunkstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/vmihailenco/msgpack/v5"
)

// Meta is the part of a chunk's state that is not its bytes. The engine owns
// its meaning; the store only persists it next to the checksums.
type Meta struct {
	Version  uint64   `msgpack:"v"`
	Size     int64    `msgpack:"s"`
	Epoch    uint64   `msgpack:"e"`           // highest lease epoch seen
	Replicas []string `msgpack:"r,omitempty"` // replica peers, "id=addr"
	Flags    uint32   `msgpack:"f,omitempty"`
}

// FlagResyncing marks a replica chunk in the middle of a full copy: its
// bytes are not a consistent version until the copy ends.
const FlagResyncing uint32 = 1

// sidecar is the persisted form: Meta plus one checksum per block.
type sidecar struct {
	Meta Meta     `msgpack:"m"`
	CRCs []uint32 `msgpack:"c"`
}

// sidecarMagic starts every sidecar file; the format version is its last byte.
var sidecarMagic = [8]byte{'L', 'I', 'S', 'C', 'H', 'K', 0, 1}

var errBadSidecar = errors.New("corrupt chunk sidecar")

// encodeSidecar lays out magic | u32 body length | msgpack body | crc32c(body).
func encodeSidecar(s *sidecar) ([]byte, error) {
	body, err := msgpack.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode sidecar: %w", err)
	}
	out := make([]byte, 0, len(sidecarMagic)+8+len(body))
	out = append(out, sidecarMagic[:]...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
	return out, nil
}

// decodeSidecar is the inverse of encodeSidecar; anything malformed is
// errBadSidecar, never a panic.
func decodeSidecar(b []byte) (*sidecar, error) {
	hdr := len(sidecarMagic) + 4
	if len(b) < hdr+4 || [8]byte(b[:8]) != sidecarMagic {
		return nil, errBadSidecar
	}
	n := binary.LittleEndian.Uint32(b[8:hdr])
	if uint64(n) != uint64(len(b)-hdr-4) {
		return nil, errBadSidecar
	}
	body := b[hdr : hdr+int(n)]
	if binary.LittleEndian.Uint32(b[hdr+int(n):]) != crc32.Checksum(body, castagnoli) {
		return nil, errBadSidecar
	}
	s := new(sidecar)
	if err := msgpack.Unmarshal(body, s); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSidecar, err)
	}
	if s.Meta.Size < 0 || int64(len(s.CRCs)) != blocksFor(s.Meta.Size) {
		return nil, errBadSidecar
	}
	return s, nil
}
