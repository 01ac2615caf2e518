package kv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRecentDeletesKeepSnapshots checks that reads answered from the
// recent-deletes table agree with pebble at every snapshot: before the
// deletion, after it, after the key is written again, and after a flush.
func TestRecentDeletesKeepSnapshots(t *testing.T) {
	e, err := OpenMemory()
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	set := func(v string) {
		require.NoError(t, e.Txn(ctx, func(tx Txn) error { return tx.Set([]byte("k"), []byte(v)) }))
	}
	del := func() {
		require.NoError(t, e.Txn(ctx, func(tx Txn) error { return tx.Delete([]byte("k")) }))
	}
	set("v1")
	// A transaction that started before the deletion still sees v1.
	old := e.begin(true)
	del()
	require.True(t, e.deletes.absentAt([]byte("k"), e.seq.Load()))
	v, err := old.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "v1", string(v))
	old.finish()

	require.Nil(t, getKey(t, e, "k"))
	set("v2")
	require.False(t, e.deletes.absentAt([]byte("k"), e.seq.Load()), "a write ends the entry")
	require.Equal(t, "v2", string(getKey(t, e, "k")))
	del()
	require.NoError(t, e.db.Flush())
	require.Empty(t, e.deletes.m, "a flush retires the entries it wrote out")
	require.Nil(t, getKey(t, e, "k"))
}

// BenchmarkRecreatedKeyRead reads a key that was written and deleted
// b.N times before, the pattern of lock files and journals. Without the
// recent-deletes table its cost grows with b.N.
func BenchmarkRecreatedKeyRead(b *testing.B) {
	e, err := OpenMemory(WithMemTableSize(64 << 20))
	require.NoError(b, err)
	defer e.Close()
	ctx := context.Background()
	key := []byte("lockfile")
	for i := 0; i < b.N; i++ {
		require.NoError(b, e.Txn(ctx, func(tx Txn) error { return tx.Set(key, []byte("x")) }))
		require.NoError(b, e.Txn(ctx, func(tx Txn) error { return tx.Delete(key) }))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		require.NoError(b, e.Txn(ctx, func(tx Txn) error {
			v, err := tx.Get(key)
			if v != nil {
				b.Fatal("deleted key read back")
			}
			return err
		}, ReadOnly()))
	}
}
