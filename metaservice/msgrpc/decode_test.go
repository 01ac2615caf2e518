package msgrpc_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// allocated returns the bytes of heap f allocated (approximately: anything
// else running allocates too, so bounds checked with it are generous).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeRoundTrip(t *testing.T) {
	values := map[string]any{
		"echo":         &echoMsg{ID: 1, Name: "n", Payload: []byte{1}, Entries: []inner{{Ino: 2}}, Xattrs: map[string][]byte{"a": nil}},
		"fuzz message": sampleFuzzMsg(),
		"bytes":        &[]byte{0, 1, 2},
		"strings":      &[]string{"", "a", string(make([]byte, 70000))},
		"any":          new(any),
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			b, err := msgrpc.Codec{}.Marshal(v)
			require.NoError(t, err)
			// A fresh value of the same type to decode into.
			out := newLike(v)
			require.NoError(t, msgrpc.Decode(b, out))
			require.Equal(t, v, out)
		})
	}
}

func newLike(v any) any {
	switch v.(type) {
	case *echoMsg:
		return new(echoMsg)
	case *fuzzMsg:
		return new(fuzzMsg)
	case *[]byte:
		return new([]byte)
	case *[]string:
		return new([]string)
	case *any:
		return new(any)
	}
	panic("newLike: add a case")
}

// TestDecodeForgedLengths feeds tiny messages that declare huge lengths. The
// msgpack library alone allocates the declared size up front (or up to a
// million elements); Decode must refuse them having allocated next to
// nothing.
func TestDecodeForgedLengths(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		into func() any
		err  string
	}{
		{"bin32 of 4 GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2}, func() any { return new([]byte) }, "exceeds limit"},
		{"bin32 of 127 MiB", []byte{0xc6, 0x07, 0xf0, 0x00, 0x00, 1, 2}, func() any { return new([]byte) }, "only 2 follow"},
		{"str32 of 1 MiB", []byte{0xdb, 0x00, 0x10, 0x00, 0x00}, func() any { return new(string) }, "only 0 follow"},
		{"bin8 past the end", []byte{0xc4, 0x05, 1, 2}, func() any { return new([]byte) }, "value of 5 bytes"},
		{"array32 of strings", []byte{0xdd, 0x07, 0xff, 0xff, 0xff, 0xa0}, func() any { return new([]string) }, "container of"},
		{"array32 of structs", []byte{0xdd, 0x07, 0xff, 0xff, 0xff, 0xc0}, func() any { return new([]fuzzInner) }, "container of"},
		{"array32 of slices", []byte{0xdd, 0x07, 0xff, 0xff, 0xff}, func() any { return new([][]byte) }, "container of"},
		{"array32 of 4G entries", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, func() any { return new([]fuzzInner) }, "exceeds limit"},
		{"array32 into any", []byte{0xdd, 0x07, 0xff, 0xff, 0xff}, func() any { return new(any) }, "container of"},
		{"map32 of strings", []byte{0xdf, 0x07, 0xff, 0xff, 0xff, 0xa0, 0xa0}, func() any { return new(map[string]string) }, "container of"},
		{"map32 into a struct field", append(append([]byte{0x81, 0xa5}, "Attrs"...), 0xdf, 0x00, 0x10, 0x00, 0x00), func() any { return new(fuzzMsg) }, "container of"},
		{"map16 with half its entries", []byte{0x82, 0xa0, 0xa0, 0xa0}, func() any { return new(map[string]string) }, "container of 4 items"},
		{"length beyond MaxDecodeLen", []byte{0xc6, 0x08, 0x00, 0x00, 0x01}, func() any { return new([]byte) }, "exceeds limit"},
		{"length field truncated", []byte{0xc5, 0x01}, func() any { return new([]byte) }, "length truncated"},
		{"empty message", nil, func() any { return new(any) }, "truncated at byte 0"},
		{"array missing its items", []byte{0x93, 0x01}, func() any { return new([]int) }, "container of 3 items"},
		{"trailing bytes", []byte{0x01, 0x02}, func() any { return new(int) }, "trailing bytes"},
		{"code 0xc1", []byte{0xc1}, func() any { return new(any) }, "invalid code 0xc1"},
		{"timestamp extension", []byte{0xd6, 0xff, 0, 0, 0, 1}, func() any { return new(any) }, "extension type"},
		{"ext8", []byte{0xc7, 0x01, 0x05, 0x00}, func() any { return new(any) }, "extension type"},
		{"too deep", deepArrays(msgrpc.MaxDecodeDepth + 1), func() any { return new(any) }, "nesting deeper than 64"},
		{"uintptr field panics in msgpack", []byte{0x81, 0xa1, 'E', 0x02}, func() any { return new(errnoReq) }, "decoder panicked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.into()
			var err error
			n := allocated(func() { err = msgrpc.Decode(c.data, v) })
			require.ErrorContains(t, err, c.err)
			require.Less(t, n, uint64(64<<10), "decode allocated %d bytes", n)
		})
	}
}

func TestDecodeDepthLimitIsExact(t *testing.T) {
	var v any
	require.NoError(t, msgrpc.Decode(deepArrays(msgrpc.MaxDecodeDepth), &v))
	for range msgrpc.MaxDecodeDepth {
		a, ok := v.([]any)
		require.True(t, ok)
		require.Len(t, a, 1)
		v = a[0]
	}
	require.Nil(t, v)

	// Width does not count as depth: siblings close their containers.
	wide := []any{deepNested(msgrpc.MaxDecodeDepth - 1), deepNested(msgrpc.MaxDecodeDepth - 1), map[string]any{"a": []any{}}}
	b, err := msgpack.Marshal(wide)
	require.NoError(t, err)
	var out any
	require.NoError(t, msgrpc.Decode(b, &out))
	require.Equal(t, wide, out)
}

func deepNested(n int) any {
	var v any = "leaf"
	for range n {
		v = []any{v}
	}
	return v
}

func TestDecodeAllocationIsBoundedByTheMessage(t *testing.T) {
	// A legal message of 64 KiB nils declared as one array: the decoder
	// allocates the slice, bounded by message size times element size.
	const n = 64 << 10
	data := append([]byte{0xdd, 0, 1, 0, 0}, make([]byte, n)...)
	for i := range n {
		data[5+i] = 0xc0
	}
	var v []fuzzInner
	var err error
	got := allocated(func() { err = msgrpc.Decode(data, &v) })
	require.NoError(t, err)
	require.Len(t, v, n)
	require.Less(t, got, uint64(allocBound(len(data))))
}

// allocBound is what Decode may allocate for a message of n bytes into the
// fuzz types: no single element of them is bigger than 256 bytes in memory,
// each takes at least one byte on the wire, plus fixed overhead.
func allocBound(n int) int { return 1<<20 + 256*n }
