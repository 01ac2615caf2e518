package kvtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// Run runs the conformance suite. open must return a fresh, empty engine; Run
// closes it at the end of each subtest.
func Run(t *testing.T, open func(t *testing.T) kv.Engine) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e kv.Engine)
	}{
		{"ReadYourWrites", testReadYourWrites},
		{"EmptyValue", testEmptyValue},
		{"ScanMergesBufferAndSnapshot", testScanMerge},
		{"ScanOrderBoundsLimit", testScanBounds},
		{"BinaryKeys", testBinaryKeys},
		{"LargeValues", testLargeValues},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"ReadWriteConflict", testReadWriteConflict},
		{"WriteWriteConflict", testWriteWriteConflict},
		{"RacingIncrements", testRacingIncrements},
		{"LostUpdate", testLostUpdate},
		{"RetriesAreBounded", testRetriesBounded},
		{"ErrorsPropagate", testErrorsPropagate},
		{"ReadOnly", testReadOnly},
		{"TxnUnusableAfterFn", testTxnAfterFn},
		{"ContextCanceled", testContextCanceled},
		{"SyncAndStats", testSyncAndStats},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := open(t)
			defer e.Close()
			c.fn(t, e)
		})
	}
}

// set commits key=value pairs (alternating) in one transaction.
func set(t *testing.T, e kv.Engine, kvs ...string) {
	t.Helper()
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		for i := 0; i < len(kvs); i += 2 {
			if err := tx.Set([]byte(kvs[i]), []byte(kvs[i+1])); err != nil {
				return err
			}
		}
		return nil
	}))
}

// get reads key in its own read-only transaction; "" with ok=false if absent.
func get(t *testing.T, e kv.Engine, key string) (value string, ok bool) {
	t.Helper()
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		v, err := tx.Get([]byte(key))
		value, ok = string(v), v != nil
		return err
	}, kv.ReadOnly()))
	return value, ok
}

// scan returns "k=v" strings for Scan(start, end, limit) in tx.
func scan(t *testing.T, tx kv.Txn, start, end string, limit int) []string {
	t.Helper()
	var out []string
	var endb []byte
	if end != "" {
		endb = []byte(end)
	}
	require.NoError(t, tx.Scan([]byte(start), endb, limit, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	}))
	return out
}
