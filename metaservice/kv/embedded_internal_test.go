package kv

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/stretchr/testify/require"
)

// crash simulates a power loss under an open engine: writes not synced are
// lost. The engine must not be used afterwards.
func crash(t *testing.T, e *Embedded, mem *vfs.MemFS) {
	mem.SetIgnoreSyncs(true)
	require.NoError(t, e.Close())
	mem.ResetToSyncedState()
	mem.SetIgnoreSyncs(false)
}

func setKeys(t *testing.T, e Engine, sync bool, kvs ...string) {
	t.Helper()
	require.NoError(t, e.Txn(context.Background(), func(tx Txn) error {
		for i := 0; i < len(kvs); i += 2 {
			if err := tx.Set([]byte(kvs[i]), []byte(kvs[i+1])); err != nil {
				return err
			}
		}
		return nil
	}, WithSync(sync)))
}

func getKey(t *testing.T, e Engine, key string) (v []byte) {
	t.Helper()
	require.NoError(t, e.Txn(context.Background(), func(tx Txn) (err error) {
		v, err = tx.Get([]byte(key))
		return err
	}, ReadOnly()))
	return v
}

// TestEmbeddedCrashLeavesPrefix commits a history of transactions, some
// synced, and crashes: the store must hold a prefix of the history that
// includes every synced commit.
func TestEmbeddedCrashLeavesPrefix(t *testing.T) {
	const n = 200
	for _, lastSynced := range []int{0, 57, 120, n} {
		t.Run(strconv.Itoa(lastSynced), func(t *testing.T) {
			mem := vfs.NewStrictMem()
			e, err := openPebble("", mem, resolveOptions([]Option{WithSyncInterval(time.Hour)}))
			require.NoError(t, err)
			for i := 1; i <= n; i++ {
				// Each transaction writes its own key and rewrites "last".
				setKeys(t, e, i == lastSynced, fmt.Sprintf("k%03d", i), "x", "last", strconv.Itoa(i))
			}
			crash(t, e, mem)
			e, err = openPebble("", mem, resolveOptions(nil))
			require.NoError(t, err)
			defer e.Close()
			last := 0
			if v := getKey(t, e, "last"); v != nil {
				last, err = strconv.Atoi(string(v))
				require.NoError(t, err)
			}
			require.GreaterOrEqual(t, last, lastSynced, "a synced commit survives")
			for i := 1; i <= n; i++ {
				require.Equal(t, i <= last, getKey(t, e, fmt.Sprintf("k%03d", i)) != nil,
					"key %d with last=%d: the store is a prefix of the history", i, last)
			}
		})
	}
}

// TestEmbeddedPeriodicSync checks that an unsynced commit is synced by the
// background syncer without any further call.
func TestEmbeddedPeriodicSync(t *testing.T) {
	mem := vfs.NewStrictMem()
	e, err := openPebble("", mem, resolveOptions([]Option{WithSyncInterval(5 * time.Millisecond)}))
	require.NoError(t, err)
	before := e.Stats().Syncs
	setKeys(t, e, false, "lazy", "1")
	require.Eventually(t, func() bool { return !e.dirty.Load() && e.Stats().Syncs > before },
		10*time.Second, time.Millisecond)
	crash(t, e, mem)
	e, err = openPebble("", mem, resolveOptions(nil))
	require.NoError(t, err)
	defer e.Close()
	require.Equal(t, []byte("1"), getKey(t, e, "lazy"))
}

// TestEmbeddedSyncMakesDurable checks Engine.Sync and Close.
func TestEmbeddedSyncMakesDurable(t *testing.T) {
	mem := vfs.NewStrictMem()
	o := resolveOptions([]Option{WithSyncInterval(time.Hour)})
	e, err := openPebble("", mem, o)
	require.NoError(t, err)
	setKeys(t, e, false, "a", "1")
	require.NoError(t, e.Sync(context.Background()))
	setKeys(t, e, false, "b", "1")
	crash(t, e, mem)
	e, err = openPebble("", mem, o)
	require.NoError(t, err)
	require.NotNil(t, getKey(t, e, "a"), "synced by Engine.Sync")
	require.Nil(t, getKey(t, e, "b"), "never synced: lost in the crash (proves the crash is simulated)")
	setKeys(t, e, false, "c", "1")
	require.NoError(t, e.Close()) // Close syncs
	mem.ResetToSyncedState()
	e, err = openPebble("", mem, o)
	require.NoError(t, err)
	defer e.Close()
	require.NotNil(t, getKey(t, e, "c"), "synced by Close")
}

// TestEmbeddedConflictTablePruning checks that pruning keeps the table small
// yet never forgets a commit a running transaction can conflict with.
func TestEmbeddedConflictTablePruning(t *testing.T) {
	e, err := OpenMemory()
	require.NoError(t, err)
	defer e.Close()
	const many = 3 * minPruneAt
	attempts := 0
	require.NoError(t, e.Txn(context.Background(), func(tx Txn) error {
		attempts++
		if _, err := tx.Get([]byte("watched")); err != nil {
			return err
		}
		if attempts == 1 {
			setKeys(t, e, false, "watched", "changed")
			for i := range many { // enough commits to prune several times
				setKeys(t, e, false, fmt.Sprintf("filler%06d", i), "x")
			}
			e.commitMu.Lock()
			size := len(e.conflicts.last)
			e.commitMu.Unlock()
			require.Greater(t, size, many, "entries newer than a running txn are kept")
		}
		return tx.Set([]byte("out"), []byte("x"))
	}))
	require.Equal(t, 2, attempts, "the conflict survived pruning")
	for i := range many {
		setKeys(t, e, false, fmt.Sprintf("after%06d", i), "x")
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	require.Less(t, len(e.conflicts.last), 2*minPruneAt+1, "with no old txn running the table is pruned")
}
