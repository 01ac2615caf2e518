package kvtest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// mustGet reads key in tx; "<nil>" stands for an absent key.
func mustGet(t *testing.T, tx kv.Txn, key string) string {
	t.Helper()
	v, err := tx.Get([]byte(key))
	require.NoError(t, err)
	if v == nil {
		return "<nil>"
	}
	return string(v)
}

func testSnapshotIsolation(t *testing.T, e kv.Engine) {
	for _, readOnly := range []bool{false, true} {
		const old, cur = "old", "cur"
		p := map[bool]string{false: "rw/", true: "ro/"}[readOnly]
		set(t, e, p+"x", old, p+"y", old)
		var opts []kv.TxnOption
		if readOnly {
			opts = append(opts, kv.ReadOnly())
		}
		attempts := 0
		var seen []string
		require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
			attempts++
			x := mustGet(t, tx, p+"x")
			if attempts == 1 {
				set(t, e, p+"x", cur, p+"y", cur, p+"x2", cur) // commits after tx began
			}
			seen = append([]string{x, mustGet(t, tx, p+"y"), mustGet(t, tx, p+"x")}, scan(t, tx, p+"x", p+"z", 0)...)
			return nil
		}, opts...))
		oldView := []string{old, old, old, p + "x=" + old, p + "y=" + old}
		if readOnly {
			// A read-only transaction may be rerun on a newer snapshot, but
			// whatever it returns is one consistent snapshot.
			if seen[0] == old {
				require.Equal(t, oldView, seen)
			} else {
				require.Equal(t, []string{cur, cur, cur, p + "x=" + cur, p + "x2=" + cur, p + "y=" + cur}, seen)
			}
			continue
		}
		require.Equal(t, 1, attempts, "a transaction that wrote nothing commits without validation")
		require.Equal(t, oldView, seen, "a transaction sees neither changes nor inserts committed after it began")
	}
}

func testReadWriteConflict(t *testing.T, e kv.Engine) {
	reads := []struct {
		name string
		read func(tx kv.Txn, key string) error
	}{
		{"Get", func(tx kv.Txn, key string) error { _, err := tx.Get([]byte(key)); return err }},
		{"BatchGet", func(tx kv.Txn, key string) error {
			_, err := tx.BatchGet([][]byte{[]byte("unrelated"), []byte(key)})
			return err
		}},
		{"Scan", func(tx kv.Txn, key string) error {
			return tx.Scan([]byte(key), kv.PrefixEnd([]byte(key)), 0, func(_, _ []byte) bool { return true })
		}},
	}
	for _, r := range reads {
		for _, present := range []bool{true, false} {
			name := r.name + map[bool]string{true: "Present", false: "Absent"}[present]
			t.Run(name, func(t *testing.T) {
				key, out := "rw/"+name, "rw/"+name+"/out"
				if present {
					set(t, e, key, "before")
				}
				attempts := 0
				require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
					attempts++
					require.NoError(t, r.read(tx, key))
					if attempts == 1 {
						set(t, e, key, "changed")
					}
					return tx.Set([]byte(out), []byte(strconv.Itoa(attempts)))
				}))
				if present || r.name != "Scan" { // a scan that found nothing has no key to guard
					require.Equal(t, 2, attempts, "a key read was committed by another transaction")
				}
				v, _ := get(t, e, out)
				require.Equal(t, strconv.Itoa(attempts), v)
			})
		}
	}
}

func testWriteWriteConflict(t *testing.T, e kv.Engine) {
	attempts := 0
	require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
		attempts++
		require.NoError(t, tx.Set([]byte("ww"), []byte("mine")))
		if attempts == 1 {
			set(t, e, "ww", "theirs")
		}
		return nil
	}))
	require.Equal(t, 2, attempts, "first committer wins a blind write-write race")
	v, _ := get(t, e, "ww")
	require.Equal(t, "mine", v)
}

// increment adds one to the decimal counter at key.
func increment(tx kv.Txn, key string) error {
	v, err := tx.Get([]byte(key))
	if err != nil {
		return err
	}
	n := 0
	if v != nil {
		if n, err = strconv.Atoi(string(v)); err != nil {
			return err
		}
	}
	return tx.Set([]byte(key), []byte(strconv.Itoa(n+1)))
}

func testRacingIncrements(t *testing.T, e kv.Engine) {
	set(t, e, "race", "0")
	var ready, done sync.WaitGroup
	ready.Add(2)
	attempts := make([]int, 2)
	seen := make([]string, 2)
	for i := range 2 {
		done.Add(1)
		go func() {
			defer done.Done()
			require.NoError(t, e.Txn(context.Background(), func(tx kv.Txn) error {
				attempts[i]++
				seen[i] = mustGet(t, tx, "race")
				if attempts[i] == 1 { // both read before either commits
					ready.Done()
					ready.Wait()
				}
				return increment(tx, "race")
			}))
		}()
	}
	done.Wait()
	require.ElementsMatch(t, []int{1, 2}, attempts, "exactly one commits at the first try")
	require.ElementsMatch(t, []string{"0", "1"}, seen, "the retried one sees the first one's value")
	v, _ := get(t, e, "race")
	require.Equal(t, "2", v)
}

func testLostUpdate(t *testing.T, e kv.Engine) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := e.Txn(context.Background(), func(tx kv.Txn) error { return increment(tx, "counter") }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	v, _ := get(t, e, "counter")
	require.Equal(t, strconv.Itoa(workers*each), v)
}

func testRetriesBounded(t *testing.T, e kv.Engine) {
	attempts := 0
	err := e.Txn(context.Background(), func(tx kv.Txn) error {
		attempts++
		if err := increment(tx, "hot"); err != nil {
			return err
		}
		// Another transaction always gets there first.
		return e.Txn(context.Background(), func(tx kv.Txn) error { return increment(tx, "hot") })
	})
	require.True(t, errors.Is(err, kv.ErrConflict), "got %v", err)
	require.Greater(t, attempts, 1)
	v, _ := get(t, e, "hot")
	require.Equal(t, strconv.Itoa(attempts), v, "only the interfering transactions committed")
}
