package geosim

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// syncedRecords writes numbered records of one file through one mount,
// each followed by an fsync, and keeps the records an fsync
// acknowledged: what a failover must never lose. Record i sits at
// i×size and its content is seededBytes(seed+i), so the writers of two
// sites share one model of the file.
type syncedRecords struct {
	path string
	size int64
	seed uint64
	// onAck, if set, is called after each acknowledged record with the
	// number acknowledged so far (a scenario's fault fires from it, in the
	// middle of the writes).
	onAck func(acked int)

	mu       sync.Mutex
	acked    map[int64]bool
	failures int       // write or fsync attempts that failed
	firstAck time.Time // of this writer
	lastErr  error
}

func newSyncedRecords(path string, size int64, seed uint64) *syncedRecords {
	return &syncedRecords{path: path, size: size, seed: seed, acked: map[int64]bool{}}
}

// content is record i.
func (w *syncedRecords) content(i int64) []byte { return seededBytes(w.seed+uint64(i), w.size) }

// write writes records [from, to). A record that fails is tried again
// (the file opened anew) until retryFor has passed since its first
// failure; with retryFor 0 the first failure ends the writes.
func (w *syncedRecords) write(ctx context.Context, from, to int64, retryFor time.Duration) error {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for i := from; i < to; i++ {
		var failedAt time.Time
		for {
			err := ctx.Err()
			if err == nil {
				f, err = w.writeRecord(f, i)
			}
			if err == nil {
				break
			}
			if failedAt.IsZero() {
				failedAt = time.Now()
			}
			if ctx.Err() != nil || time.Since(failedAt) >= retryFor {
				return fmt.Errorf("record %d of %s: %w", i, w.path, err)
			}
			sleep(ctx, 500*time.Millisecond)
		}
	}
	return nil
}

// writeRecord writes and fsyncs record i through f (opened if nil); on
// failure it closes f and returns nil for it, so the next try reopens.
func (w *syncedRecords) writeRecord(f *os.File, i int64) (*os.File, error) {
	var err error
	if f == nil {
		if f, err = os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			w.failed(err)
			return nil, err
		}
	}
	if _, err = f.WriteAt(w.content(i), i*w.size); err == nil {
		err = f.Sync()
	}
	if err != nil {
		w.failed(err)
		f.Close()
		return nil, err
	}
	w.ack(i)
	return f, nil
}

func (w *syncedRecords) ack(i int64) {
	w.mu.Lock()
	w.acked[i] = true
	n := len(w.acked)
	if w.firstAck.IsZero() {
		w.firstAck = time.Now()
	}
	w.mu.Unlock()
	if w.onAck != nil {
		w.onAck(n)
	}
}

func (w *syncedRecords) failed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures++
	w.lastErr = err
}

// ackedRecords returns the records acknowledged so far.
func (w *syncedRecords) ackedRecords() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int64, 0, len(w.acked))
	for i := range w.acked {
		out = append(out, i)
	}
	return out
}

// missingAcked names the first acknowledged record of w that data (the
// file, read whole) does not hold byte for byte, or "". Records excused
// says may be missing (nil: none) are not checked.
func (w *syncedRecords) missingAcked(data []byte, excused func(record int64) bool) string {
	for _, i := range w.ackedRecords() {
		if excused != nil && excused(i) {
			continue
		}
		end := min((i+1)*w.size, int64(len(data)))
		got := data[min(i*w.size, end):end]
		if d := firstDifference(got, w.content(i)); d != "" {
			return fmt.Sprintf("record %d (bytes %d-%d), acknowledged by its fsync: %s", i, i*w.size, (i+1)*w.size, d)
		}
	}
	return ""
}

// tornAt checks that records [0, n) of data are a state the sequential
// writer of w went through: its records up to some byte, then zeros. It
// returns that byte, or an error naming where data is neither.
func (w *syncedRecords) tornAt(data []byte, n int64) (int64, error) {
	var want []byte
	for i := range n {
		want = append(want, w.content(i)...)
	}
	got := make([]byte, len(want))
	copy(got, data)
	k := 0
	for k < len(want) && got[k] == want[k] {
		k++
	}
	for j := k; j < len(got); j++ {
		if got[j] != 0 {
			return int64(k), fmt.Errorf("byte %d is %#x: after the first %d bytes written the file should hold zeros (a state the writer never went through)", j, got[j], k)
		}
	}
	return int64(k), nil
}
