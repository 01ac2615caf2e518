package fs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// releaseQueue batches the releases of this session's opens. The kernel
// sends RELEASE after close(2) returned, so nobody waits for it, and one
// metaservice transaction carries many: a small file costs its create and
// its commit, not a third round trip for the release. A release waits at
// most releaseDelay; Close sends what is left before the session ends.
type releaseQueue struct {
	mu   sync.Mutex // guards inos
	inos []ms.Ino
	kick chan struct{} // one token: a release is queued
}

// releaseDelay is how long a queued release waits for others to go with.
const releaseDelay = 5 * time.Millisecond

func newReleaseQueue() *releaseQueue { return &releaseQueue{kick: make(chan struct{}, 1)} }

// add queues one release of ino's open.
func (q *releaseQueue) add(ino ms.Ino) {
	q.mu.Lock()
	q.inos = append(q.inos, ino)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func (q *releaseQueue) take() []ms.Ino {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.inos
	q.inos = nil
	return out
}

// releaser sends queued releases until ctx ends.
func (f *FS) releaser(ctx context.Context) {
	defer f.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.releases.kick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(releaseDelay):
		}
		if err := f.flushReleases(f.op()); err != nil && ctx.Err() == nil {
			slog.Warn("lis fs: releasing opens", "err", err)
		}
	}
}

// flushReleases sends every queued release. Ones that fail are not sent
// again: the open stays registered until the session ends, which keeps an
// unlinked file a little longer, where a release sent twice could drop an
// open that another descriptor still has.
func (f *FS) flushReleases(ctx context.Context) error {
	inos := f.releases.take()
	if len(inos) == 0 {
		return nil
	}
	return f.meta.ReleaseOpens(ctx, inos, f.session.Load())
}
