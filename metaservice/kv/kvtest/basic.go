package kvtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

func testReadYourWrites(t *testing.T, e kv.Engine) {
	set(t, e, "a", "1", "b", "2", "c", "3")
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		require.NoError(t, tx.Set([]byte("a"), []byte("10")))
		require.NoError(t, tx.Delete([]byte("b")))
		require.NoError(t, tx.Set([]byte("d"), []byte("4")))
		for _, c := range []struct {
			key, want string
			present   bool
		}{{"a", "10", true}, {"b", "", false}, {"c", "3", true}, {"d", "4", true}, {"e", "", false}} {
			v, err := tx.Get([]byte(c.key))
			require.NoError(t, err)
			require.Equal(t, c.present, v != nil, c.key)
			require.Equal(t, c.want, string(v), c.key)
		}
		got, err := tx.BatchGet([][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")})
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"a": []byte("10"), "c": []byte("3"), "d": []byte("4")}, got)
		// Deleting a key written earlier in the same transaction hides it.
		require.NoError(t, tx.Delete([]byte("d")))
		v, err := tx.Get([]byte("d"))
		require.NoError(t, err)
		require.Nil(t, v)
		// Overwriting a deleted key brings it back.
		require.NoError(t, tx.Set([]byte("b"), []byte("20")))
		v, err = tx.Get([]byte("b"))
		require.NoError(t, err)
		require.Equal(t, "20", string(v))
		return nil
	}))
	for _, c := range []struct {
		key, want string
		present   bool
	}{{"a", "10", true}, {"b", "20", true}, {"c", "3", true}, {"d", "", false}} {
		v, ok := get(t, e, c.key)
		require.Equal(t, c.present, ok, c.key)
		require.Equal(t, c.want, v, c.key)
	}
}

func testEmptyValue(t *testing.T, e kv.Engine) {
	set(t, e, "empty", "")
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		v, err := tx.Get([]byte("empty"))
		require.NoError(t, err)
		require.NotNil(t, v, "a present key with an empty value reads as []byte{}")
		require.Empty(t, v)
		got, err := tx.BatchGet([][]byte{[]byte("empty")})
		require.NoError(t, err)
		require.Contains(t, got, "empty")
		require.Error(t, tx.Set([]byte("x"), nil), "nil values are refused")
		return nil
	}))
}

func testScanMerge(t *testing.T, e kv.Engine) {
	set(t, e, "k1", "a", "k3", "c", "k5", "e", "k7", "g")
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		require.NoError(t, tx.Set([]byte("k0"), []byte("new0")))   // before every snapshot key
		require.NoError(t, tx.Set([]byte("k3"), []byte("new3")))   // shadows a snapshot key
		require.NoError(t, tx.Delete([]byte("k5")))                // hides a snapshot key
		require.NoError(t, tx.Set([]byte("k6"), []byte("new6")))   // between snapshot keys
		require.NoError(t, tx.Delete([]byte("k9")))                // deleting an absent key
		require.NoError(t, tx.Set([]byte("k8"), []byte("new8")))   // after every snapshot key
		require.NoError(t, tx.Set([]byte("z"), []byte("outside"))) // outside the range
		require.Equal(t, []string{"k0=new0", "k1=a", "k3=new3", "k6=new6", "k7=g", "k8=new8"},
			scan(t, tx, "k", "l", 0))
		require.Equal(t, []string{"k3=new3", "k6=new6"}, scan(t, tx, "k2", "k7", 0))
		require.Equal(t, []string{"k0=new0", "k1=a", "k3=new3"}, scan(t, tx, "k", "l", 3),
			"the limit counts keys passed to fn, not hidden ones")
		return nil
	}))
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		require.Equal(t, []string{"k0=new0", "k1=a", "k3=new3", "k6=new6", "k7=g", "k8=new8"},
			scan(t, tx, "k", "l", 0))
		return nil
	}, kv.ReadOnly()))
}

func testScanBounds(t *testing.T, e kv.Engine) {
	set(t, e, "b", "1", "a", "0", "d", "3", "c", "2", "ca", "x", "e", "4")
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		cases := []struct {
			start, end string
			limit      int
			want       []string
		}{
			{"a", "e", 0, []string{"a=0", "b=1", "c=2", "ca=x", "d=3"}},
			{"b", "d", 0, []string{"b=1", "c=2", "ca=x"}},
			{"bb", "ca", 0, []string{"c=2"}},
			{"a", "", 0, []string{"a=0", "b=1", "c=2", "ca=x", "d=3", "e=4"}},
			{"", "", 2, []string{"a=0", "b=1"}},
			{"c", "c", 0, nil},
			{"x", "z", 0, nil},
			{"a", "z", 1, []string{"a=0"}},
			{"a", "z", -1, []string{"a=0", "b=1", "c=2", "ca=x", "d=3", "e=4"}},
		}
		for _, c := range cases {
			require.Equal(t, c.want, scan(t, tx, c.start, c.end, c.limit), "%q-%q limit %d", c.start, c.end, c.limit)
		}
		var seen []string
		require.NoError(t, tx.Scan([]byte("a"), nil, 0, func(k, _ []byte) bool {
			seen = append(seen, string(k))
			return len(seen) < 3
		}))
		require.Equal(t, []string{"a", "b", "c"}, seen, "fn returning false stops the scan")
		return nil
	}, kv.ReadOnly()))
}

func testBinaryKeys(t *testing.T, e kv.Engine) {
	keys := [][]byte{
		{0x00}, {0x00, 0x00}, {0x00, 0xff}, {0x01}, {0x7f, 0x00, 0x01},
		{0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff},
	}
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		for i := len(keys) - 1; i >= 0; i-- {
			if err := tx.Set(keys[i], append([]byte{0xff, 0x00}, keys[i]...)); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		var got [][]byte
		require.NoError(t, tx.Scan([]byte{0x00}, nil, 0, func(k, v []byte) bool {
			require.Equal(t, append([]byte{0xff, 0x00}, k...), v)
			got = append(got, bytes.Clone(k))
			return true
		}))
		require.Equal(t, keys, got)
		got = nil
		require.NoError(t, tx.Scan([]byte{0xff}, kv.PrefixEnd([]byte{0xff}), 0, func(k, _ []byte) bool {
			got = append(got, bytes.Clone(k))
			return true
		}))
		require.Equal(t, keys[5:], got, "prefix 0xff has no end key: scans to the end")
		got = nil
		require.NoError(t, tx.Scan([]byte{0x00}, kv.PrefixEnd([]byte{0x00}), 0, func(k, _ []byte) bool {
			got = append(got, bytes.Clone(k))
			return true
		}))
		require.Equal(t, keys[:3], got)
		v, err := tx.Get([]byte{0x00, 0xff})
		require.NoError(t, err)
		require.Equal(t, []byte{0xff, 0x00, 0x00, 0xff}, v)
		return nil
	}, kv.ReadOnly()))
}

func testLargeValues(t *testing.T, e kv.Engine) {
	big := make([]byte, 1<<20+12345)
	_, _ = rand.Read(big)
	big2 := make([]byte, 3<<20/2)
	_, _ = rand.Read(big2)
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		require.NoError(t, tx.Set([]byte("big"), big))
		require.NoError(t, tx.Set([]byte("big2"), big2))
		v, err := tx.Get([]byte("big"))
		require.NoError(t, err)
		require.Equal(t, big, v)
		return nil
	}))
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		got, err := tx.BatchGet([][]byte{[]byte("big"), []byte("big2")})
		require.NoError(t, err)
		require.Equal(t, big, got["big"])
		require.Equal(t, big2, got["big2"])
		n := 0
		require.NoError(t, tx.Scan([]byte("big"), []byte("bih"), 0, func(k, v []byte) bool {
			n++
			require.Equal(t, map[string][]byte{"big": big, "big2": big2}[string(k)], v)
			return true
		}))
		require.Equal(t, 2, n)
		return nil
	}, kv.ReadOnly()))
}
