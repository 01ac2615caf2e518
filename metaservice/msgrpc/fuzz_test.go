package msgrpc_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// fuzzLeaf and fuzzInner are representative message parts: a struct in
// array layout (as the metaservice records are), one in map layout, and
// every container kind requests use.
type fuzzLeaf struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino     uint64
	Version int32
	Sites   []string
}

type fuzzInner struct {
	Name   string
	Data   []byte
	Tags   map[string]uint32
	Leaves []fuzzLeaf
	Flag   bool
}

type fuzzMsg struct {
	ID     uint64
	Signed int64
	Ratio  float64
	Names  []string
	Blobs  [][]byte
	Inner  []fuzzInner
	Attrs  map[string][]byte
	Matrix [][]int16
	Ptr    *fuzzInner
	Fixed  [4]byte
	Any    any
}

func sampleFuzzMsg() *fuzzMsg {
	return &fuzzMsg{
		ID: 1 << 60, Signed: -7, Ratio: 0.5,
		Names: []string{"a", ""},
		Blobs: [][]byte{{1, 2}, nil, {}},
		Inner: []fuzzInner{{
			Name: "dir", Data: []byte("payload"), Tags: map[string]uint32{"x": 1},
			Leaves: []fuzzLeaf{{Ino: 5, Version: -1, Sites: []string{"perth", "london"}}},
			Flag:   true,
		}},
		Attrs:  map[string][]byte{"user.k": []byte("v")},
		Matrix: [][]int16{{1, -2}, {}},
		Ptr:    &fuzzInner{Name: "p"},
		Fixed:  [4]byte{9, 8, 7, 6},
		Any:    map[string]any{"k": []any{int8(1), "s", nil, true}},
	}
}

// canonical encodes v with sorted map keys, so equal values give equal
// bytes.
func canonical(t *testing.T, v any) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	require.NoError(t, enc.Encode(v))
	return buf.Bytes()
}

// FuzzDecode feeds arbitrary bytes to Decode. It must never panic, must
// allocate no more than the message size justifies (a forged length prefix
// must not buy a huge allocation), and whatever it accepts must re-encode
// to bytes that decode to the same value.
func FuzzDecode(f *testing.F) {
	seeds := []any{sampleFuzzMsg(), &fuzzMsg{}, &fuzzMsg{Inner: []fuzzInner{{}}}, map[string]any{"Any": deepNested(10)}}
	for _, s := range seeds {
		b, err := msgpack.Marshal(s)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{0x81, 0xa4, 'B', 'l', 'o', 'b', 's', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa5, 'A', 't', 't', 'r', 's', 0xdf, 0x00, 0x10, 0x00, 0x00})
	f.Add([]byte{0x81, 0xa4, 'N', 'a', 'm', 'e', 0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add(deepArrays(msgrpc.MaxDecodeDepth + 1))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		var m fuzzMsg
		var err error
		n := allocated(func() { err = msgrpc.Decode(data, &m) })
		require.LessOrEqual(t, n, uint64(allocBound(len(data))), "decoding %d bytes allocated %d", len(data), n)
		if err != nil {
			return
		}
		b1 := canonical(t, &m)
		var m2 fuzzMsg
		require.NoError(t, msgrpc.Decode(b1, &m2), "re-encoded message refused")
		require.Equal(t, b1, canonical(t, &m2))
	})
}
