package journal

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	require.Equal(t, LSN(0), l.LastLSN())
	require.Equal(t, LSN(1), l.FirstLSN())
	require.Empty(t, readAll(t, l, 1))

	lsns := appendN(t, l, 1, 100)
	require.Equal(t, LSN(1), lsns[0])
	require.Equal(t, LSN(100), l.LastLSN())
	requirePayloads(t, readAll(t, l, 0), 1, 100)
	requirePayloads(t, readAll(t, l, 40), 40, 61)
	require.Empty(t, readAll(t, l, 101))
	require.Equal(t, diskSize(t, dir), l.Size())
	require.NoError(t, l.Close())

	l = openTest(t, testOptions(dir))
	require.Equal(t, LSN(100), l.LastLSN())
	require.Equal(t, LSN(100), l.DurableLSN())
	require.Equal(t, LSN(1), l.FirstLSN())
	require.Empty(t, l.Recovered().TruncatedSegment)
	requirePayloads(t, readAll(t, l, 1), 1, 100)
	lsn, err := l.Append(payload(101))
	require.NoError(t, err)
	require.Equal(t, LSN(101), lsn)
	require.NoError(t, l.Close())
}

func TestAppendBatch(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	first, err := l.AppendBatch(nil)
	require.NoError(t, err)
	require.Equal(t, LSN(0), first)

	appendN(t, l, 1, 3)
	first, err = l.AppendBatch([][]byte{payload(4), payload(5), {}, payload(7)})
	require.NoError(t, err)
	require.Equal(t, LSN(4), first)
	recs := readAll(t, l, 1)
	require.Len(t, recs, 7)
	require.Empty(t, recs[5].Data)
	requirePayloads(t, recs[:5], 1, 5)
	requirePayloads(t, recs[6:], 7, 1)
}

func TestRolling(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.SegmentSize = 4096
	l := openTest(t, opts)
	appendN(t, l, 1, 200)
	files := segmentFiles(t, dir)
	require.Greater(t, len(files), 5)
	for _, p := range files[:len(files)-1] {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		// A segment rolls before a record would take it past SegmentSize.
		require.LessOrEqual(t, fi.Size(), opts.SegmentSize)
	}
	require.Equal(t, diskSize(t, dir), l.Size())

	// A batch larger than a segment stays whole, in a segment of its own.
	big := make([][]byte, 40)
	for i := range big {
		big[i] = payload(201 + i)
	}
	first, err := l.AppendBatch(big)
	require.NoError(t, err)
	require.Equal(t, LSN(201), first)
	files = segmentFiles(t, dir)
	last, ok := parseSegmentName(files[len(files)-1][len(dir)+1:])
	require.True(t, ok)
	require.Equal(t, LSN(201), last)

	requirePayloads(t, readAll(t, l, 1), 1, 240)
	requirePayloads(t, readAll(t, l, 150), 150, 91)
	require.NoError(t, l.Close())

	l = openTest(t, opts)
	defer l.Close()
	require.Equal(t, len(files), l.Recovered().Segments)
	requirePayloads(t, readAll(t, l, 1), 1, 240)
	require.Equal(t, diskSize(t, dir), l.Size())
}

func TestSync(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	ctx := context.Background()
	require.NoError(t, l.Sync(ctx, 0))
	appendN(t, l, 1, 10)
	require.Equal(t, LSN(0), l.DurableLSN(), "background sync is disabled")

	require.NoError(t, l.Sync(ctx, 5))
	require.Equal(t, LSN(10), l.DurableLSN(), "a round covers everything appended")
	rounds := l.rounds
	require.NoError(t, l.Sync(ctx, 10))
	require.Equal(t, rounds, l.rounds, "already durable: no fdatasync")

	require.Error(t, l.Sync(ctx, 11), "beyond the last LSN")
	appendN(t, l, 11, 1)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, l.Sync(cctx, 11), context.Canceled)
}

// TestGroupCommit holds the first sync round open until 16 writers have
// appended: all of them must then be covered by one more round.
func TestGroupCommit(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	const writers = 16
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	l.syncHook = func() { once.Do(func() { close(entered); <-release }) }

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	write := func(i int) {
		defer wg.Done()
		lsn, err := l.Append(payload(i))
		if err == nil {
			err = l.Sync(context.Background(), lsn)
		}
		errs <- err
	}
	wg.Add(1)
	go write(1)
	<-entered // the first round covers LSN 1 only
	wg.Add(writers - 1)
	for i := 2; i <= writers; i++ {
		go write(i)
	}
	waitFor(t, func() bool { return l.LastLSN() == writers })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, LSN(writers), l.DurableLSN())
	require.Equal(t, uint64(2), l.rounds)
}

func TestCloseSyncsAndRefuses(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	appendN(t, l, 1, 5)
	c, err := l.Consumer("r")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.Close(), ErrClosed)
	_, err = l.Append([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, l.Sync(context.Background(), 5), "already durable")
	_, err = c.Next(context.Background(), 1, 0)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, l.ReadFrom(1, func(Record) error { return nil }), ErrClosed)

	l = openTest(t, testOptions(dir))
	defer l.Close()
	require.Equal(t, LSN(5), l.DurableLSN())
	requirePayloads(t, readAll(t, l, 1), 1, 5)
}

func TestOpenLocksDir(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	_, err := Open(testOptions(dir))
	require.Error(t, err)
	require.NoError(t, l.Close())
	l = openTest(t, testOptions(dir))
	require.NoError(t, l.Close())
}

func TestReadFromStopsOnCallbackError(t *testing.T) {
	l := openTest(t, testOptions(t.TempDir()))
	defer l.Close()
	appendN(t, l, 1, 10)
	stop := errors.New("stop")
	n := 0
	err := l.ReadFrom(1, func(r Record) error {
		n++
		if r.LSN == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, n)
}

func TestBackgroundSync(t *testing.T) {
	opts := testOptions(t.TempDir())
	opts.SyncInterval = 5e6 // 5ms
	l := openTest(t, opts)
	defer l.Close()
	appendN(t, l, 1, 3)
	waitFor(t, func() bool { return l.DurableLSN() == 3 })
}

// TestAppendFailureRollsBack makes a write fail halfway (a file size limit
// stands in for a full disk): the append must fail with the errno, leave no
// partial record behind, and the log must work again once the cause is gone.
func TestAppendFailureRollsBack(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	appendN(t, l, 1, 10)
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limit := old
	limit.Cur = uint64(l.Size() + 100) // room for part of the next record only
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit))
	_, err := l.Append(make([]byte, 1000))
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
	require.ErrorIs(t, err, syscall.EFBIG)
	require.Equal(t, LSN(10), l.LastLSN())
	require.Equal(t, diskSize(t, dir), l.Size(), "partial record removed")

	lsn, err := l.Append(payload(11))
	require.NoError(t, err)
	require.Equal(t, LSN(11), lsn)
	require.NoError(t, l.Close())
	l = openTest(t, testOptions(dir))
	defer l.Close()
	require.Empty(t, l.Recovered().TruncatedSegment)
	requirePayloads(t, readAll(t, l, 1), 1, 11)
}
