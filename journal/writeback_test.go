package journal

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteback appends across many segment rolls with write-out requested
// every few KiB, concurrently with syncs that seal and close segments, and
// checks that every record reads back after a reopen. Under -race it
// checks the background write-out against the appenders and syncers.
func TestWriteback(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.SegmentSize = 64 << 10
	opts.WritebackBytes = 8 << 10
	l := openTest(t, opts)
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				lsn, err := l.Append([]byte(fmt.Sprintf("w%d-%d-%0900d", w, i, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if err := l.Sync(context.Background(), lsn); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, l.Close())
	require.Greater(t, len(segmentFiles(t, dir)), 10, "the records span many segments")

	l = openTest(t, opts)
	defer l.Close()
	seen := 0
	require.NoError(t, l.ReadFrom(1, func(r Record) error {
		seen++
		return nil
	}))
	require.Equal(t, writers*each, seen)
}
