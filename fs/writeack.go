package fs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/policy"
)

// A policy's write_ack says which copies must hold a write durably before
// fsync (or an O_SYNC write) returns: local_only, the local journal;
// local_plus_one, also one other copy of the chunk; geographic, also a
// copy in every other region the chunk's placement spans. The copies
// counted are those the metaservice placed (the chunk record's replicas),
// whose acknowledgements the primary's replication senders track: a chunk
// the registry could give no other copy (a one-host volume) waits for
// none, and is under goal, not in error. A copy that does not acknowledge
// within Options.AckTimeout makes the call fail with EIO, naming it in the
// log; what was written stays, and replication goes on.

// chunkWait is one chunk an fsync waits for: the version written, and its
// copies.
type chunkWait struct {
	index    uint32
	id       uint64
	version  uint64
	replicas []ms.Replica
}

// awaitCopies waits until the copies of's write_ack asks for hold every
// version written through this client since the last time they did.
func (f *FS) awaitCopies(ctx context.Context, of *openFile) error {
	waits := of.unsyncedChunks()
	if !slices.ContainsFunc(waits, func(w chunkWait) bool { return len(w.replicas) > 1 }) {
		of.synced(waits) // one copy each: nothing to wait for, whatever the policy
		return nil
	}
	ep, err := f.meta.ResolvePolicy(ctx, of.ino)
	if err != nil {
		return fmt.Errorf("policy of inode %d: %w", of.ino, err)
	}
	if ep.Policy.WriteAck != policy.LocalOnly {
		deadline := time.Now().Add(f.opts.AckTimeout)
		for _, w := range waits {
			if err := f.awaitChunk(ctx, ep.Policy.WriteAck, w, deadline); err != nil {
				return fmt.Errorf("write_ack %s of inode %d: %w", ep.Policy.WriteAck, of.ino, err)
			}
		}
	}
	of.synced(waits)
	return nil
}

// unsyncedChunks lists the chunks written since the last wait.
func (of *openFile) unsyncedChunks() []chunkWait {
	of.mu.Lock()
	defer of.mu.Unlock()
	out := make([]chunkWait, 0, len(of.unsynced))
	for idx, v := range of.unsynced {
		w := chunkWait{index: idx, version: v}
		if ref := of.chunks[idx]; ref != nil {
			w.id, w.replicas = ref.id, ref.replicas
		}
		out = append(out, w)
	}
	return out
}

// synced forgets the waits that held, unless more was written meanwhile.
func (of *openFile) synced(waits []chunkWait) {
	of.mu.Lock()
	defer of.mu.Unlock()
	for _, w := range waits {
		if of.unsynced[w.index] == w.version {
			delete(of.unsynced, w.index)
		}
	}
}

// awaitChunk polls the local dataserver's view of what w's copies
// acknowledged until ack is met or the deadline passes.
func (f *FS) awaitChunk(ctx context.Context, ack policy.WriteAck, w chunkWait, deadline time.Time) error {
	if w.id == 0 {
		return nil
	}
	pause := 2 * time.Millisecond
	for {
		acked, err := f.data.Acked(ctx, w.id)
		if err != nil {
			return fmt.Errorf("chunk %x: %w", w.id, err)
		}
		missing, err := f.missingCopies(ctx, ack, w, acked)
		if err != nil || len(missing) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			slog.Warn("lis fs: write_ack not met; the data stays and replication goes on", "chunk", fmt.Sprintf("%x", w.id),
				"version", w.version, "write_ack", ack, "missing", missing, "waited", f.opts.AckTimeout)
			return fmt.Errorf("chunk %x at version %d: no durable copy on %s after %s: %w", w.id, w.version,
				strings.Join(missing, " or "), f.opts.AckTimeout, syscall.EIO)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
			pause = min(2*pause, 50*time.Millisecond)
		}
	}
}

// missingCopies says which of w's copies ack still waits for: for
// local_plus_one any one other copy (all are listed), for geographic one
// per other region of the placement (the regions' copies are listed).
func (f *FS) missingCopies(ctx context.Context, ack policy.WriteAck, w chunkWait, acked map[string]uint64) ([]string, error) {
	var others []string
	for _, r := range w.replicas {
		if r.Dataserver != f.data.ID() {
			others = append(others, r.Dataserver)
		}
	}
	has := func(id string) bool { return acked[id] >= w.version }
	if ack == policy.LocalPlusOne {
		if slices.ContainsFunc(others, has) {
			return nil, nil
		}
		return others, nil
	}
	ds, err := f.remote.dataservers(ctx)
	if err != nil {
		return nil, err
	}
	mine := ds[f.data.ID()].Region
	byRegion := map[string][]string{}
	for _, id := range others {
		if r := ds[id].Region; r != mine {
			byRegion[r] = append(byRegion[r], id)
		}
	}
	var missing []string
	for _, ids := range byRegion {
		if !slices.ContainsFunc(ids, has) {
			missing = append(missing, ids...)
		}
	}
	slices.Sort(missing)
	return missing, nil
}
