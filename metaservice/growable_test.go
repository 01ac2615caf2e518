package metaservice

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// chunkRecordV1 is ChunkRecord as volumes before replication modes and
// data blocks stored it.
type chunkRecordV1 struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID          ChunkID
	Version     uint64
	Primary     string
	LeaseEpoch  uint64
	LeaseExpiry int64
	Replicas    []Replica
}

// growOld and growNew are one record before and after it gained a field.
type growOld struct {
	_msgpack struct{} `msgpack:",as_array"`

	A int
	B string
}

type growNew struct {
	_msgpack struct{} `msgpack:",as_array"`

	A int
	B string
	C []int
}

func (g *growOld) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeGrowable(d, reflect.ValueOf(g).Elem())
}
func (g *growNew) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeGrowable(d, reflect.ValueOf(g).Elem())
}

func TestGrowableRecords(t *testing.T) {
	old := chunkRecordV1{ID: 7, Version: 3, Primary: "perth", LeaseEpoch: 2, LeaseExpiry: 99, Replicas: []Replica{{Dataserver: "perth", Version: 3}}}
	b, err := msgpack.Marshal(&old)
	require.NoError(t, err)
	var c ChunkRecord
	require.NoError(t, decode([]byte("k"), b, &c))
	require.Equal(t, ChunkRecord{ID: 7, Version: 3, Primary: "perth", LeaseEpoch: 2, LeaseExpiry: 99,
		Replicas: []Replica{{Dataserver: "perth", Version: 3}}}, c, "an older record opens, new fields zero")

	c.Blocks = 4
	b, err = msgpack.Marshal(&c)
	require.NoError(t, err)
	var back ChunkRecord
	require.NoError(t, decode([]byte("k"), b, &back))
	require.Equal(t, c, back, "round trip")

	b, err = msgpack.Marshal(&growNew{A: 1, B: "b", C: []int{3}})
	require.NoError(t, err)
	var o growOld
	require.NoError(t, msgpack.Unmarshal(b, &o))
	require.Equal(t, growOld{A: 1, B: "b"}, o, "a newer record's extra field is skipped")
	b, err = msgpack.Marshal(&growOld{A: 2, B: "x"})
	require.NoError(t, err)
	n := growNew{C: []int{9}}
	require.NoError(t, msgpack.Unmarshal(b, &n))
	require.Equal(t, growNew{A: 2, B: "x"}, n, "an older record's missing field is zero")

	// A deletion queued before copies could be diverged.
	type deletionV1 struct {
		_msgpack struct{} `msgpack:",as_array"`
		Chunk    ChunkID
		Replicas []string
		Queued   int64
	}
	b, err = msgpack.Marshal(&deletionV1{Chunk: 9, Replicas: []string{"perth"}, Queued: 5})
	require.NoError(t, err)
	var del deletion
	require.NoError(t, decode([]byte("k"), b, &del))
	require.Equal(t, deletion{Chunk: 9, Replicas: []string{"perth"}, Queued: 5}, del)

	// Nil slices and maps are encoded as nil, and decode as such.
	for _, rec := range []any{&ChunkRecord{ID: 1}, &deletion{Chunk: 2}, &Attr{Ino: 3}} {
		b, err := msgpack.Marshal(rec)
		require.NoError(t, err)
		back := reflect.New(reflect.TypeOf(rec).Elem()).Interface()
		require.NoError(t, decode([]byte("k"), b, back))
		require.Equal(t, rec, back)
	}
}
