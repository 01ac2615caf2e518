package msgrpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxDecodeLen bounds the length of any one string, binary or container the
// decoder will allocate for, so a forged length prefix cannot make a server
// allocate gigabytes before noticing the message is short.
const MaxDecodeLen = 128 << 20

// MaxDecodeDepth bounds the nesting of arrays and maps in a message. The
// msgpack decoder recurses once per level, so without a bound a message of
// nested one-element arrays decoded into an `any` field could exhaust the
// goroutine stack, which is fatal rather than a recoverable panic.
const MaxDecodeDepth = 64

var errTrailing = errors.New("trailing bytes after message")

// Decode decodes exactly one msgpack value from data into v.
//
// Before decoding, the message's structure is checked (see checkWire): the
// msgpack library trusts declared lengths and allocates them up front (a
// 6-byte message declaring a 4 GiB []byte, or 4 billion slice elements,
// would otherwise be allocated before the decoder noticed the data is
// short). After the check, every allocation the decoder makes is bounded
// by the size of the message times the in-memory size of one element.
//
// A panic inside the msgpack library is returned as an error: it panics on
// some target types (a uintptr-kind field such as syscall.Errno has no
// decoder), and a request must never take the server down.
func Decode(data []byte, v any) (err error) {
	if err := checkWire(data); err != nil {
		return err
	}
	r := bytes.NewReader(data)
	// Decoders are pooled: making one per message cost a few microseconds
	// of every call. One that panicked is not reused.
	dec := msgpack.GetDecoder()
	dec.Reset(r)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("msgpack: decoder panicked on %T: %v", v, p)
			return
		}
		msgpack.PutDecoder(dec)
	}()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if r.Len() != 0 {
		return errTrailing
	}
	return nil
}

// checkWire walks the msgpack encoding of exactly one value in data without
// allocating and refuses it unless:
//   - every string, binary and container length fits in the bytes that
//     remain (a container element takes at least one byte, a map entry two)
//     and is at most MaxDecodeLen;
//   - containers nest at most MaxDecodeDepth deep;
//   - it carries no extension values: Lis messages use none, and the msgpack
//     decoder reads a map header from inside an extension payload when it
//     decodes into a map, a path this walk could not bound;
//   - no byte follows the value.
func checkWire(data []byte) error {
	var open [MaxDecodeDepth]int // items still expected in each open container
	depth := 0
	pos := 0
	for {
		start := pos
		if pos >= len(data) {
			return fmt.Errorf("msgpack: message truncated at byte %d", pos)
		}
		c := data[pos]
		pos++
		items, skip, lenBytes, err := classify(c)
		if err != nil {
			return fmt.Errorf("msgpack: byte %d: %w", start, err)
		}
		n := skip
		if lenBytes > 0 {
			if len(data)-pos < lenBytes {
				return fmt.Errorf("msgpack: byte %d: length truncated", start)
			}
			n = readLen(data[pos:], lenBytes)
			pos += lenBytes
		}
		rest := len(data) - pos
		if n > MaxDecodeLen {
			return fmt.Errorf("msgpack: byte %d: length %d exceeds limit %d", start, n, MaxDecodeLen)
		}
		if items < 0 { // container: n elements (maps count keys and values)
			if isMapCode(c) {
				n *= 2
			}
			if n > rest {
				return fmt.Errorf("msgpack: byte %d: container of %d items but only %d bytes follow", start, n, rest)
			}
			if n > 0 {
				if depth == MaxDecodeDepth {
					return fmt.Errorf("msgpack: byte %d: nesting deeper than %d", start, MaxDecodeDepth)
				}
				open[depth] = n
				depth++
				continue
			}
		} else {
			if n > rest {
				return fmt.Errorf("msgpack: byte %d: value of %d bytes but only %d follow", start, n, rest)
			}
			pos += n
		}
		// One value is complete; close every container it completes.
		for depth > 0 {
			open[depth-1]--
			if open[depth-1] > 0 {
				break
			}
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if pos != len(data) {
		return errTrailing
	}
	return nil
}

// classify describes the value starting with code byte c. For a scalar,
// string or binary it returns items = 0 and the payload size in skip, or
// lenBytes > 0 when the size follows in that many big-endian bytes. For a
// container it returns items = -1 and its element count as skip, or
// lenBytes for a count that follows.
func classify(c byte) (items, skip, lenBytes int, err error) {
	switch {
	case c <= 0x7f, c >= 0xe0: // positive and negative fixint
		return 0, 0, 0, nil
	case c <= 0x8f: // fixmap
		return -1, int(c & 0x0f), 0, nil
	case c <= 0x9f: // fixarray
		return -1, int(c & 0x0f), 0, nil
	case c <= 0xbf: // fixstr
		return 0, int(c & 0x1f), 0, nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 0, 0, 0, nil
	case 0xc4, 0xd9: // bin8, str8
		return 0, 0, 1, nil
	case 0xc5, 0xda: // bin16, str16
		return 0, 0, 2, nil
	case 0xc6, 0xdb: // bin32, str32
		return 0, 0, 4, nil
	case 0xca: // float32
		return 0, 4, 0, nil
	case 0xcb: // float64
		return 0, 8, 0, nil
	case 0xcc, 0xd0: // uint8, int8
		return 0, 1, 0, nil
	case 0xcd, 0xd1:
		return 0, 2, 0, nil
	case 0xce, 0xd2:
		return 0, 4, 0, nil
	case 0xcf, 0xd3:
		return 0, 8, 0, nil
	case 0xdc, 0xde: // array16, map16
		return -1, 0, 2, nil
	case 0xdd, 0xdf: // array32, map32
		return -1, 0, 4, nil
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return 0, 0, 0, fmt.Errorf("extension type (code %#x) not accepted in messages", c)
	}
	return 0, 0, 0, fmt.Errorf("invalid code %#x", c) // 0xc1 is never used
}

func isMapCode(c byte) bool { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }

func readLen(b []byte, size int) int {
	switch size {
	case 1:
		return int(b[0])
	case 2:
		return int(binary.BigEndian.Uint16(b))
	}
	return int(binary.BigEndian.Uint32(b))
}
