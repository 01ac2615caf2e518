package metaservice

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// TestMillionEntryDirectory lists a directory of 1,000,000 entries page by
// page and checks every entry comes exactly once while the heap stays far
// below what holding the listing would take.
func TestMillionEntryDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a million entries")
	}
	const n = 1_000_000
	f := newFixture(t, func(t *testing.T) kv.Engine {
		e, err := kv.Open(context.Background(), "embedded:"+t.TempDir())
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		return e
	})
	d := f.mkdir(Root, RootIno, "huge", 0755)
	// Fill the directory with bulk transactions; the namespace rules are
	// tested elsewhere, this is about listing.
	const batch = 20_000
	for base := 0; base < n; base += batch {
		require.NoError(t, f.s.Engine().Txn(f.ctx, func(tx kv.Txn) error {
			for i := base; i < base+batch; i++ {
				name := fmt.Sprintf("file-%07d", i)
				if err := tx.Set(dentryKey(d.Ino, name), encode(&Dentry{Ino: MakeIno(0, uint64(10_000_000+i)), Type: syscall.S_IFREG})); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	seen := make([]bool, n)
	var peak uint64
	count := 0
	for cookie, page := uint64(0), 0; ; page++ {
		ents, err := f.s.ReadDir(f.ctx, Root, d.Ino, cookie, 1000, false)
		require.NoError(t, err)
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			var i int
			_, err := fmt.Sscanf(e.Name, "file-%07d", &i)
			require.NoError(t, err)
			require.False(t, seen[i], e.Name)
			seen[i] = true
			count++
		}
		cookie = ents[len(ents)-1].Cookie
		if page%100 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	require.Equal(t, n, count)
	// A full listing of a million names would hold well over 50 MiB.
	growth := int64(peak) - int64(before.HeapInuse)
	require.Less(t, growth, int64(48<<20), "heap grew by %d MiB while listing", growth>>20)
}
