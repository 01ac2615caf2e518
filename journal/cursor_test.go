package journal

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConsumerNextAckRewind(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	ctx := context.Background()
	appendN(t, l, 1, 3)
	require.NoError(t, l.Sync(ctx, 3))
	appendN(t, l, 4, 2)
	c, err := l.Consumer("r1")
	require.NoError(t, err)
	require.Equal(t, "r1", c.Name())
	require.Equal(t, LSN(3), c.Position(), "a new consumer starts after DurableLSN")
	same, err := l.Consumer("r1")
	require.NoError(t, err)
	require.Same(t, c, same)

	// Background sync is off: Next must get the records synced itself.
	appendN(t, l, 6, 20)
	recs, err := c.Next(ctx, 6, 0)
	require.NoError(t, err)
	requirePayloads(t, recs, 4, 6)
	recs, err = c.Next(ctx, 0, 0)
	require.NoError(t, err)
	requirePayloads(t, recs, 10, 16)
	require.Equal(t, LSN(3), c.Position(), "Next does not ack")

	require.NoError(t, c.Ack(8))
	require.NoError(t, c.Ack(7), "stale acks are ignored")
	require.Equal(t, LSN(8), c.Position())
	c.Rewind()
	recs, err = c.Next(ctx, 2, 0)
	require.NoError(t, err)
	requirePayloads(t, recs, 9, 2)

	require.Error(t, c.Ack(26), "beyond the durable LSN")
	require.NoError(t, c.Ack(25))
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = c.Next(tctx, 1, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestNextByteLimit(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	c, err := l.Consumer("r")
	require.NoError(t, err)
	for _, n := range []int{100, 100, 100, 1000, 10} {
		_, err := l.Append(make([]byte, n))
		require.NoError(t, err)
	}
	ctx := context.Background()
	for _, want := range [][]int{{100, 100}, {100}, {1000}, {10}} {
		recs, err := c.Next(ctx, 0, 250)
		require.NoError(t, err)
		var got []int
		for _, r := range recs {
			got = append(got, len(r.Data))
		}
		require.Equal(t, want, got, "at most 250 bytes, but at least one record")
	}
}

func TestNextWaitsForAppend(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	c, err := l.Consumer("r")
	require.NoError(t, err)
	got := make(chan []Record)
	go func() {
		recs, err := c.Next(context.Background(), 10, 0)
		if err != nil {
			recs = nil
		}
		got <- recs
	}()
	appendN(t, l, 1, 1)
	requirePayloads(t, <-got, 1, 1)
}

func TestConsumerPersists(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	appendN(t, l, 1, 3)
	a, err := l.Consumer("a")
	require.NoError(t, err)
	_, err = l.Consumer("b")
	require.NoError(t, err)
	appendN(t, l, 4, 10)
	require.NoError(t, l.Sync(context.Background(), 13))
	require.NoError(t, a.Ack(9))
	require.NoError(t, l.Release(11))
	require.NoError(t, l.Close())

	l = openTest(t, testOptions(dir))
	defer l.Close()
	require.Equal(t, []string{"a", "b"}, l.Consumers())
	require.Equal(t, LSN(11), l.Released())
	a, err = l.Consumer("a")
	require.NoError(t, err)
	require.Equal(t, LSN(9), a.Position())
	recs, err := a.Next(context.Background(), 0, 0)
	require.NoError(t, err)
	requirePayloads(t, recs, 10, 4)
}

func TestConsumerNames(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	for _, name := range []string{"", string(make([]byte, maxConsumerName+1))} {
		_, err := l.Consumer(name)
		require.Error(t, err)
	}
	require.ErrorIs(t, l.DropConsumer("nobody"), ErrUnknownConsumer)
}

// TestDeletion: a segment goes only when the owner's release point and
// every consumer are past it.
func TestDeletion(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.SegmentSize = 2048
	l := openTest(t, opts)
	ctx := context.Background()
	a, err := l.Consumer("a")
	require.NoError(t, err)
	b, err := l.Consumer("b")
	require.NoError(t, err)
	appendN(t, l, 1, 100)
	require.NoError(t, l.Sync(ctx, 100))
	files := len(segmentFiles(t, dir))
	require.Greater(t, files, 5)

	require.NoError(t, a.Ack(100))
	require.NoError(t, b.Ack(100))
	require.Equal(t, files, len(segmentFiles(t, dir)), "not released by the owner")
	require.Equal(t, LSN(1), l.FirstLSN())

	require.NoError(t, l.Release(50))
	first := l.FirstLSN()
	require.Greater(t, first, LSN(1))
	require.LessOrEqual(t, first, LSN(51), "records after the release point stay")
	require.Less(t, len(segmentFiles(t, dir)), files)
	require.Equal(t, diskSize(t, dir), l.Size())
	requirePayloads(t, readAll(t, l, 1), first, int(101-first))

	require.NoError(t, l.Release(100))
	require.Equal(t, 1, len(segmentFiles(t, dir)), "the active segment always stays")
	require.Equal(t, diskSize(t, dir), l.Size())

	// Consumer positions hold segments too.
	appendN(t, l, 101, 100)
	require.NoError(t, l.Sync(ctx, 200))
	require.NoError(t, l.Release(200))
	require.NoError(t, a.Ack(200))
	require.LessOrEqual(t, l.FirstLSN(), LSN(101), "b still needs 101")
	require.NoError(t, b.Ack(150))
	require.Greater(t, l.FirstLSN(), LSN(101))
	require.LessOrEqual(t, l.FirstLSN(), LSN(151))
	require.NoError(t, l.Close())

	l = openTest(t, opts)
	defer l.Close()
	first = l.FirstLSN()
	require.Greater(t, first, LSN(101))
	requirePayloads(t, readAll(t, l, 0), first, int(201-first))
	b, err = l.Consumer("b")
	require.NoError(t, err)
	recs, err := b.Next(ctx, 0, 0)
	require.NoError(t, err)
	requirePayloads(t, recs, 151, 50)
	st := l.Stats()
	require.Equal(t, Stats{
		FirstLSN: first, LastLSN: 200, DurableLSN: 200, Released: 200,
		Size: diskSize(t, dir), Segments: len(segmentFiles(t, dir)), SyncRounds: st.SyncRounds,
		Consumers: map[string]LSN{"a": 200, "b": 150},
	}, st)
}

func TestDropConsumer(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.SegmentSize = 2048
	l := openTest(t, opts)
	c, err := l.Consumer("slow")
	require.NoError(t, err)
	appendN(t, l, 1, 100)
	require.NoError(t, l.Sync(context.Background(), 100))
	require.NoError(t, l.Release(100))
	require.Equal(t, LSN(1), l.FirstLSN(), "held by the consumer")

	blocked := make(chan error)
	go func() {
		_, err := c.Next(context.Background(), 0, 0) // gets 1..100
		if err == nil {
			_, err = c.Next(context.Background(), 0, 0) // waits
		}
		blocked <- err
	}()
	require.NoError(t, l.DropConsumer("slow"))
	require.ErrorIs(t, <-blocked, ErrDropped)
	require.ErrorIs(t, c.Ack(1), ErrDropped)
	require.Empty(t, l.Consumers())
	require.Equal(t, 1, len(segmentFiles(t, dir)))
	require.NoError(t, l.Close())

	l = openTest(t, opts)
	defer l.Close()
	require.Empty(t, l.Consumers())
	c2, err := l.Consumer("slow")
	require.NoError(t, err)
	require.Equal(t, LSN(100), c2.Position(), "a new consumer of the same name")
}

func TestOverLimit(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.SegmentSize = 2048
	opts.SizeLimit = 8192
	type call struct {
		name string
		size int64
	}
	var mu sync.Mutex
	var calls []call
	var l *Log
	opts.OverLimit = func(name string, size int64) {
		mu.Lock()
		calls = append(calls, call{name, size})
		mu.Unlock()
		require.NoError(t, l.DropConsumer(name))
	}
	l = openTest(t, opts)
	defer l.Close()
	fast, err := l.Consumer("fast")
	require.NoError(t, err)
	_, err = l.Consumer("slow")
	require.NoError(t, err)

	for i := 1; i <= 400; i++ {
		lsn, err := l.Append(payload(i))
		require.NoError(t, err)
		// The owner and the fast consumer keep up; "slow" never acks.
		require.NoError(t, l.Sync(context.Background(), lsn))
		require.NoError(t, l.Release(lsn))
		require.NoError(t, fast.Ack(lsn))
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 1)
	require.Equal(t, "slow", calls[0].name)
	require.Greater(t, calls[0].size, opts.SizeLimit)
	require.Equal(t, []string{"fast"}, l.Consumers())
	require.LessOrEqual(t, l.Size(), opts.SizeLimit+opts.SegmentSize)
	require.Equal(t, diskSize(t, dir), l.Size())
}

// TestConcurrentConsumer streams records of random sizes to a consumer
// that acks as it goes, while segments roll and get deleted under it.
func TestConcurrentConsumer(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.SegmentSize = 16 << 10
	opts.SyncInterval = time.Millisecond
	l := openTest(t, opts)
	defer l.Close()
	c, err := l.Consumer("r")
	require.NoError(t, err)
	const n = 3000
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		next := LSN(1)
		for next <= n {
			recs, err := c.Next(ctx, 1+rand.IntN(50), 4096)
			if err != nil {
				errc <- err
				return
			}
			for _, r := range recs {
				if r.LSN != next || string(r.Data) != string(payload(int(next))) {
					errc <- errors.New("out of order or corrupt record")
					return
				}
				next++
			}
			if rand.IntN(4) == 0 {
				c.Rewind() // a reconnect: resend from the acked position
				next = c.Position() + 1
				continue
			}
			if err := c.Ack(next - 1); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := 1; i <= n; i++ {
		lsn, err := l.Append(payload(i))
		require.NoError(t, err)
		if i%7 == 0 {
			require.NoError(t, l.Release(lsn))
		}
	}
	require.NoError(t, <-errc)
	require.Greater(t, l.FirstLSN(), LSN(1), "segments were deleted as the consumer acked")
}
