package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Record framing. Every record is a 24-byte header followed by its payload:
//
//	offset size field
//	0      4    crc     CRC32C (Castagnoli) of payload, then of header bytes 4..24
//	4      4    length  payload length in bytes
//	8      8    lsn     the record's LSN
//	16     8    synced  the log's durable LSN when the record was appended
//
// All integers are little-endian. The CRC is computed over the payload first so
// that appenders can checksum their data before taking the log's lock; the
// header fields are folded in afterwards.
//
// synced is what lets recovery tell a torn tail from lost acknowledged data:
// a valid record whose synced field is >= n proves that record n had been
// made durable before the crash, so damage at n cannot be an unsynced tail.
const (
	recordHeaderSize = 24

	// MaxRecordSize bounds a record's payload. It also bounds what a corrupt
	// length field can make a reader allocate.
	MaxRecordSize = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks framing damage: a bad CRC, an impossible header. Errors
// wrapping it are about the bytes on disk, never about the I/O that read them.
var errCorrupt = errors.New("corrupt record")

// errTruncated marks a record that runs past the end of the valid data.
var errTruncated = errors.New("truncated record")

// recordHeader is a decoded header. Invariant after parseHeader succeeds:
// 1 <= lsn, synced < lsn, length <= MaxRecordSize.
type recordHeader struct {
	crc    uint32
	length uint32
	lsn    LSN
	synced LSN
}

// payloadCRC is the first half of a record's checksum; callers compute it
// outside the log's lock.
func payloadCRC(data []byte) uint32 {
	return crc32.Checksum(data, castagnoli)
}

// encodeHeader fills b (recordHeaderSize bytes) for a record whose payload
// has length n and checksum pcrc (from payloadCRC).
func encodeHeader(b []byte, n int, lsn, synced LSN, pcrc uint32) {
	binary.LittleEndian.PutUint32(b[4:], uint32(n))
	binary.LittleEndian.PutUint64(b[8:], uint64(lsn))
	binary.LittleEndian.PutUint64(b[16:], uint64(synced))
	binary.LittleEndian.PutUint32(b[0:], crc32.Update(pcrc, castagnoli, b[4:recordHeaderSize]))
}

// appendRecord appends the encoding of one record to dst.
func appendRecord(dst []byte, lsn, synced LSN, data []byte) []byte {
	var h [recordHeaderSize]byte
	encodeHeader(h[:], len(data), lsn, synced, payloadCRC(data))
	return append(append(dst, h[:]...), data...)
}

// parseHeader decodes and sanity-checks a header; it does not verify the CRC
// (that needs the payload).
func parseHeader(b []byte) (recordHeader, error) {
	h := recordHeader{
		crc:    binary.LittleEndian.Uint32(b[0:]),
		length: binary.LittleEndian.Uint32(b[4:]),
		lsn:    LSN(binary.LittleEndian.Uint64(b[8:])),
		synced: LSN(binary.LittleEndian.Uint64(b[16:])),
	}
	switch {
	case h.length > MaxRecordSize:
		return h, fmt.Errorf("%w: length %d exceeds maximum", errCorrupt, h.length)
	case h.lsn == 0:
		return h, fmt.Errorf("%w: zero LSN", errCorrupt)
	case h.synced >= h.lsn:
		return h, fmt.Errorf("%w: LSN %d claims durable LSN %d", errCorrupt, h.lsn, h.synced)
	}
	return h, nil
}

// verify checks the record checksum.
func (h recordHeader) verify(hdr, payload []byte) error {
	crc := crc32.Update(payloadCRC(payload), castagnoli, hdr[4:recordHeaderSize])
	if crc != h.crc {
		return fmt.Errorf("%w: LSN %d checksum %08x, want %08x", errCorrupt, h.lsn, crc, h.crc)
	}
	return nil
}

// decodeRecord decodes the record at the start of b. It returns the header,
// the payload (aliasing b) and the record's encoded size. Errors wrap
// errTruncated when b ends inside the record and errCorrupt when the bytes
// cannot be a record written by this package.
func decodeRecord(b []byte) (recordHeader, []byte, int, error) {
	if len(b) < recordHeaderSize {
		return recordHeader{}, nil, 0, fmt.Errorf("%w: %d header bytes", errTruncated, len(b))
	}
	h, err := parseHeader(b)
	if err != nil {
		return h, nil, 0, err
	}
	end := recordHeaderSize + int(h.length)
	if len(b) < end {
		return h, nil, 0, fmt.Errorf("%w: LSN %d needs %d bytes, have %d", errTruncated, h.lsn, end, len(b))
	}
	payload := b[recordHeaderSize:end]
	if err := h.verify(b, payload); err != nil {
		return h, nil, 0, err
	}
	return h, payload, end, nil
}

// readRecord reads one record from br, of which at most avail bytes belong to
// valid data. The payload is read into scratch when it is large enough,
// otherwise into a fresh slice the caller may keep. Errors wrap errTruncated
// or errCorrupt for bad data; anything else is an I/O error.
func readRecord(br *bufio.Reader, avail int64, scratch []byte) (recordHeader, []byte, int64, error) {
	if avail < recordHeaderSize {
		return recordHeader{}, nil, 0, fmt.Errorf("%w: %d header bytes", errTruncated, avail)
	}
	b, err := br.Peek(recordHeaderSize)
	if err != nil {
		return recordHeader{}, nil, 0, noEOF(err)
	}
	var hdr [recordHeaderSize]byte
	copy(hdr[:], b)
	h, err := parseHeader(hdr[:])
	if err != nil {
		return h, nil, 0, err
	}
	n := recordHeaderSize + int64(h.length)
	if n > avail {
		return h, nil, 0, fmt.Errorf("%w: LSN %d needs %d bytes, have %d", errTruncated, h.lsn, n, avail)
	}
	if _, err := br.Discard(recordHeaderSize); err != nil {
		return h, nil, 0, noEOF(err)
	}
	payload := scratch
	if cap(payload) < int(h.length) {
		payload = make([]byte, h.length)
	}
	payload = payload[:h.length]
	if _, err := io.ReadFull(br, payload); err != nil {
		return h, nil, 0, noEOF(err)
	}
	if err := h.verify(hdr[:], payload); err != nil {
		return h, nil, 0, err
	}
	return h, payload, n, nil
}

// noEOF turns an EOF inside what the log's bookkeeping says is valid data
// into an error: the file is shorter than it should be.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends early", errTruncated)
	}
	return err
}

// isDamage reports whether err is about the bytes (truncated or corrupt)
// rather than the I/O.
func isDamage(err error) bool {
	return errors.Is(err, errCorrupt) || errors.Is(err, errTruncated)
}
