package fs

import (
	"context"
	"sync"
	"time"
)

// remoteWindow is what one remote fetch reads: a round trip to a far site
// costs about as much for 4 MiB as for the 128 KiB the kernel asks for,
// so a reader at 250 ms would otherwise be held to a few Mbit/s.
const remoteWindow = 4 << 20

// remoteAhead is how many windows past a sequential reader are fetched in
// parallel: 16 MiB per round trip, about 500 Mbit/s at 250 ms.
const remoteAhead = 4

// readahead fetches remote windows into the block cache: the ones a read
// needs, and, for a reader going forward through a chunk, the next ones
// in the background. It owns the background fetches (stop ends them) and
// never fetches one window twice at once.
type readahead struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ahead  int // windows fetched past the reader (fewer for a small cache)

	mu       sync.Mutex                 // guards the maps
	inflight map[blockKey]chan struct{} // window → closed when fetched
	next     map[uint64]int64           // chunk → where its last read ended
}

func newReadahead(cacheBytes int64) *readahead {
	ctx, cancel := context.WithCancel(context.Background())
	// Keep what is fetched ahead to a quarter of the cache, so it does not
	// evict what the reader is still using.
	ahead := int(min(remoteAhead, cacheBytes/4/remoteWindow))
	return &readahead{ctx: ctx, cancel: cancel, ahead: ahead,
		inflight: map[blockKey]chan struct{}{}, next: map[uint64]int64{}}
}

// window returns the index of the window holding off.
func window(off int64) int64 { return off / remoteWindow }

// fill fetches the windows covering [off, off+n) of ref's chunk into the
// cache, waiting for ones already being fetched.
func (a *readahead) fill(ctx context.Context, r *remoteCopies, ref *chunkRef, off int64, n int, limit int64) error {
	for w := window(off); w <= window(off+int64(n)-1); w++ {
		if err := a.fetch(ctx, r, ref, w, limit); err != nil {
			return err
		}
	}
	return nil
}

// after notes that a read of ref's chunk ended at end; if it went on from
// where the last one ended, the next windows before limit (the end of the
// file's data in the chunk) are fetched in the background.
func (a *readahead) after(r *remoteCopies, ref *chunkRef, end, limit int64) {
	a.mu.Lock()
	prev, seen := a.next[ref.id]
	if len(a.next) > 4096 { // forget old readers rather than grow
		clear(a.next)
	}
	a.next[ref.id] = end
	a.mu.Unlock()
	if !seen || window(prev) < window(end)-1 || prev > end || a.ctx.Err() != nil {
		return // not sequential, or the client is closing
	}
	last := min(window(end)+int64(a.ahead), window(limit-1))
	for w := window(end); w <= last; w++ {
		if a.busy(ref.id, w) || r.cache.has(ref.id, ref.version, w*remoteWindow) {
			continue
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
			defer cancel()
			a.fetch(ctx, r, ref, w, limit) // a failure is the reader's to see, if it gets there
		}()
	}
}

// busy says whether window w of chunk is being fetched.
func (a *readahead) busy(chunk uint64, w int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.inflight[blockKey{chunk, w}]
	return ok
}

// fetch reads window w of ref's chunk, up to the block holding limit,
// into the cache, unless it is there or on its way (then it waits for it).
func (a *readahead) fetch(ctx context.Context, r *remoteCopies, ref *chunkRef, w, limit int64) error {
	key := blockKey{ref.id, w}
	a.mu.Lock()
	if done, ok := a.inflight[key]; ok {
		a.mu.Unlock()
		select {
		case <-done:
			return nil // the caller reads the cache, and fetches itself if it is not there
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.cache.has(ref.id, ref.version, w*remoteWindow) {
		a.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	a.inflight[key] = done
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.inflight, key)
		a.mu.Unlock()
		close(done)
	}()
	lo := w * remoteWindow
	_, hi := span(lo, int(max(limit-lo, 1)))
	buf := make([]byte, min(lo+remoteWindow, hi)-lo)
	v, err := r.fetch(ctx, ref, lo, buf)
	if err != nil {
		return err
	}
	r.cache.put(ref.id, v, lo, buf)
	return nil
}

// stop ends the background fetches and waits for them.
func (a *readahead) stop() {
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
}
