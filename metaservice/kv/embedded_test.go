package kv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/kv/kvtest"
)

func TestEmbeddedConformance(t *testing.T) {
	t.Run("Memory", func(t *testing.T) {
		kvtest.Run(t, func(t *testing.T) kv.Engine {
			e, err := kv.OpenMemory()
			require.NoError(t, err)
			return e
		})
	})
	t.Run("Disk", func(t *testing.T) {
		kvtest.Run(t, func(t *testing.T) kv.Engine {
			e, err := kv.OpenEmbedded(t.TempDir())
			require.NoError(t, err)
			return e
		})
	})
}

func TestEmbeddedDirLock(t *testing.T) {
	dir := t.TempDir()
	e, err := kv.OpenEmbedded(dir)
	require.NoError(t, err)
	_, err = kv.OpenEmbedded(dir)
	require.ErrorContains(t, err, "embedded metadata at "+dir+" is in use by another process")
	require.NoError(t, e.Close())
	e, err = kv.OpenEmbedded(dir)
	require.NoError(t, err, "Close releases the lock")
	require.NoError(t, e.Close())
}

func TestEmbeddedReopen(t *testing.T) {
	dir := t.TempDir()
	e, err := kv.Open(context.Background(), "embedded:"+dir)
	require.NoError(t, err)
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		return tx.Set([]byte("persist"), []byte("yes"))
	}))
	require.NoError(t, e.Close())
	e, err = kv.Open(context.Background(), "embedded:"+dir)
	require.NoError(t, err)
	defer e.Close()
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		v, err := tx.Get([]byte("persist"))
		require.Equal(t, "yes", string(v))
		return err
	}, kv.ReadOnly()))
}

// TestEmbeddedStaleErrorRetried: an error from fn whose reads were already
// overwritten is not reported; fn runs again on a fresh snapshot.
func TestEmbeddedStaleErrorRetried(t *testing.T) {
	e, err := kv.OpenMemory()
	require.NoError(t, err)
	defer e.Close()
	errMissing := errors.New("missing")
	attempts := 0
	err = e.Txn(context.Background(), func(tx kv.Txn) error {
		attempts++
		v, err := tx.Get([]byte("name"))
		if err != nil {
			return err
		}
		if attempts == 1 {
			require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
				return tx.Set([]byte("name"), []byte("taken"))
			}))
		}
		if v == nil {
			return errMissing // decided on a view that is already stale
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, attempts)
}

// BenchmarkEmbeddedTxn runs the shared benchmark on a disk-backed embedded
// engine, with and without a synced commit per transaction (the synced
// variant shows group commit: syncs/op below 1 with parallel committers).
func BenchmarkEmbeddedTxn(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(map[bool]string{false: "NoSync", true: "Sync"}[sync], func(b *testing.B) {
			e, err := kv.OpenEmbedded(b.TempDir())
			require.NoError(b, err)
			defer e.Close()
			kvtest.Bench(b, e, kv.WithSync(sync))
		})
	}
}
