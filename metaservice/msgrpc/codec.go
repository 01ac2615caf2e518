package msgrpc

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/mem"
)

// Codec encodes gRPC messages with msgpack. It is forced on both ends of a
// connection, so the content-subtype on the wire is irrelevant.
type Codec struct{}

// Name implements encoding.Codec.
func (Codec) Name() string { return "msgpack" }

// Marshal implements encoding.Codec. msgpack panics on some kinds (uintptr
// fields such as syscall.Errno); that is turned into an error so a bad
// response type fails one call instead of the server.
func (Codec) Marshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("msgpack encode %T: %v", v, r)
		}
	}()
	b, err = msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("msgpack encode %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal implements encoding.Codec. Trailing bytes after the message are
// an error: a request is exactly one value.
func (Codec) Unmarshal(data []byte, v any) error {
	if err := Decode(data, v); err != nil {
		return fmt.Errorf("msgpack decode %T: %w", v, err)
	}
	return nil
}

// codecV2 adapts Codec to gRPC's buffer-slice codec interface.
type codecV2 struct{}

func (codecV2) Name() string { return Codec{}.Name() }

// BufferMarshaler is a message that encodes itself as a list of byte
// slices, so that a large payload reaches the transport without first being
// copied into an encoding buffer. The slices may alias the message's own
// memory: the caller must leave them unchanged until the call or stream
// message they belong to has been answered.
type BufferMarshaler interface {
	MarshalBuffers() ([][]byte, error)
}

func (codecV2) Marshal(v any) (mem.BufferSlice, error) {
	if bm, ok := v.(BufferMarshaler); ok {
		bufs, err := bm.MarshalBuffers()
		if err != nil {
			return nil, fmt.Errorf("msgpack encode %T: %w", v, err)
		}
		out := make(mem.BufferSlice, len(bufs))
		for i, b := range bufs {
			out[i] = mem.SliceBuffer(b)
		}
		return out, nil
	}
	b, err := Codec{}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (codecV2) Unmarshal(data mem.BufferSlice, v any) error {
	// msgpack copies every []byte and string it decodes, so the
	// materialized buffer may be released as soon as decoding returns.
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return Codec{}.Unmarshal(buf.ReadOnlyData(), v)
}
