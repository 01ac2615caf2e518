package kvtest

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

func testErrorsPropagate(t *testing.T, e kv.Engine) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		err  error
		is   error
	}{
		{"Sentinel", boom, boom},
		{"Errno", fmt.Errorf("create %q: %w", "f", syscall.EEXIST), syscall.EEXIST},
		{"ConflictFromFn", fmt.Errorf("fn's own: %w", kv.ErrConflict), kv.ErrConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			attempts := 0
			err := e.Txn(context.Background(), func(tx kv.Txn) error {
				attempts++
				require.NoError(t, tx.Set([]byte("aborted/"+c.name), []byte("x")))
				return c.err
			})
			require.Equal(t, c.err, err, "fn's error comes back unchanged")
			require.ErrorIs(t, err, c.is)
			require.Equal(t, 1, attempts, "an error from fn on a current snapshot is not retried")
			_, ok := get(t, e, "aborted/"+c.name)
			require.False(t, ok, "an aborted transaction writes nothing")
		})
	}
}

func testReadOnly(t *testing.T, e kv.Engine) {
	set(t, e, "ro", "1", "ro2", "2")
	before := e.Stats()
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		require.ErrorIs(t, tx.Set([]byte("ro"), []byte("2")), kv.ErrReadOnly)
		require.ErrorIs(t, tx.Delete([]byte("ro")), kv.ErrReadOnly)
		require.Equal(t, "1", mustGet(t, tx, "ro"))
		got, err := tx.BatchGet([][]byte{[]byte("ro"), []byte("ro2"), []byte("nope")})
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"ro": []byte("1"), "ro2": []byte("2")}, got)
		require.Equal(t, []string{"ro=1", "ro2=2"}, scan(t, tx, "ro", "rp", 0))
		return nil
	}, kv.ReadOnly()))
	v, _ := get(t, e, "ro")
	require.Equal(t, "1", v)
	require.Greater(t, e.Stats().Txns, before.Txns)
}

func testTxnAfterFn(t *testing.T, e kv.Engine) {
	for _, opts := range [][]kv.TxnOption{nil, {kv.ReadOnly()}} {
		var leaked kv.Txn
		require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
			leaked = tx
			_, err := tx.Get([]byte("k"))
			return err
		}, opts...))
		_, err := leaked.Get([]byte("k"))
		require.Error(t, err)
		_, err = leaked.BatchGet([][]byte{[]byte("k")})
		require.Error(t, err)
		require.Error(t, leaked.Scan([]byte("a"), nil, 0, func(_, _ []byte) bool { return true }))
		require.Error(t, leaked.Set([]byte("k"), []byte("v")))
		require.Error(t, leaked.Delete([]byte("k")))
	}
	_, ok := get(t, e, "k")
	require.False(t, ok)
}

func testContextCanceled(t *testing.T, e kv.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Txn(ctx, func(tx kv.Txn) error { return tx.Set([]byte("canceled"), []byte("x")) })
	require.ErrorIs(t, err, context.Canceled)
	_, ok := get(t, e, "canceled")
	require.False(t, ok)
}

func testSyncAndStats(t *testing.T, e kv.Engine) {
	before := e.Stats()
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		return tx.Set([]byte("synced"), []byte("1"))
	}, kv.WithSync(true)))
	set(t, e, "unsynced", "1")
	require.NoError(t, e.Sync(context.Background()))
	after := e.Stats()
	require.Equal(t, before.Txns+2, after.Txns)
	require.Greater(t, after.RoundTrips, before.RoundTrips)
	v, _ := get(t, e, "synced")
	require.Equal(t, "1", v)
}

func testClose(t *testing.T, e kv.Engine) {
	set(t, e, "k", "v")
	require.NoError(t, e.Close())
	err := e.Txn(context.Background(), func(tx kv.Txn) error { return nil })
	require.ErrorIs(t, err, kv.ErrClosed)
	require.ErrorIs(t, e.Sync(context.Background()), kv.ErrClosed)
}
