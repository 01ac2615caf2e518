package volume

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
)

// reapInterval is how often the embedded volume drains the metaservice's
// chunk deletion queue.
const reapInterval = 2 * time.Second

// chunkReaper deletes the chunks of truncated and deleted files from the
// embedded volume's dataserver and then drops them from the metaservice's
// deletion queue. A chunk is acknowledged only once every copy it had is
// gone; the embedded volume's chunks live on its one dataserver.
type chunkReaper struct {
	meta *ms.Service
	ds   *dataserver.Local
	id   string
}

// run drains the queue every reapInterval until ctx ends.
func (r *chunkReaper) run(ctx context.Context) {
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.drain(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("lis: reclaim deleted chunks", "err", err)
			}
		}
	}
}

// drain handles the queue in batches until it is empty.
func (r *chunkReaper) drain(ctx context.Context) error {
	for {
		dels, err := r.meta.PendingDeletions(ctx, 1024)
		if err != nil || len(dels) == 0 {
			return err
		}
		var done []ms.ChunkID
		for _, d := range dels {
			if len(d.Replicas) > 0 && slices.ContainsFunc(d.Replicas, func(s string) bool { return s != r.id }) {
				continue // copies elsewhere: their dataservers reclaim them
			}
			if err := r.ds.Delete(ctx, uint64(d.Chunk)); err != nil {
				return err
			}
			done = append(done, d.Chunk)
		}
		if len(done) == 0 {
			return nil
		}
		if err := r.meta.AckDeletions(ctx, done); err != nil {
			return err
		}
		if len(dels) < 1024 {
			return nil
		}
	}
}
