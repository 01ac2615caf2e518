package fs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver"
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
	mode     dataserver.ReplMode
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
	if ack := ep.Policy.WriteAck; ack != policy.LocalOnly {
		deadline := time.Now().Add(f.opts.AckTimeout)
		for _, w := range waits {
			missing := func(acked map[string]uint64) ([]string, error) { return f.missingCopies(ctx, ack, w, acked) }
			if err := f.awaitChunk(ctx, string(ack), w, deadline, missing); err != nil {
				return fmt.Errorf("write_ack %s of inode %d: %w", ack, of.ino, err)
			}
		}
	}
	of.synced(waits)
	return nil
}

// closeAck honours write_ack at the close of a file written through this
// descriptor's client: the chunks written are made durable locally, and
// the copies write_ack asks for are waited for, as at fsync (the file's
// metadata is committed, but not synced, by the caller).
func (f *FS) closeAck(ctx context.Context, of *openFile) error {
	waits := of.unsyncedChunks()
	if len(waits) == 0 {
		return nil
	}
	for _, w := range waits {
		if w.id == 0 {
			continue
		}
		if err := f.data.Sync(ctx, w.id); err != nil {
			return fmt.Errorf("sync chunk %x of inode %d: %w", w.id, of.ino, err)
		}
	}
	return f.awaitCopies(ctx, of)
}

// syncReplicated reports whether writes to ref wait for every copy
// (replication: sync) before write() returns.
func syncReplicated(ref *chunkRef) bool {
	return ref != nil && ref.mode == dataserver.ReplSync && len(ref.replicas) > 1
}

// awaitEveryCopy waits until every copy of w's chunk holds w's version
// durably (replication: sync).
func (f *FS) awaitEveryCopy(ctx context.Context, w chunkWait) error {
	missing := func(acked map[string]uint64) ([]string, error) {
		var out []string
		for _, r := range w.replicas {
			if r.Dataserver != f.data.ID() && acked[r.Dataserver] < w.version {
				out = append(out, r.Dataserver)
			}
		}
		return out, nil
	}
	err := f.awaitChunk(ctx, "every copy", w, time.Now().Add(f.opts.AckTimeout), missing)
	if err != nil {
		return fmt.Errorf("replication sync: %w", err)
	}
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
			w.id, w.replicas, w.mode = ref.id, ref.replicas, ref.mode
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

// awaitChunk waits until missingFor (what ack, for the log, still waits
// for, given what each copy acknowledged) finds nothing, or the deadline
// passes. The local dataserver answers each wait as soon as an
// acknowledgement changes (AwaitAcked), so a copy counts the moment it
// is there. A lazily replicated chunk is shipped at once.
func (f *FS) awaitChunk(ctx context.Context, ack string, w chunkWait, deadline time.Time, missingFor func(map[string]uint64) ([]string, error)) error {
	if w.id == 0 {
		return nil
	}
	acked, err := f.data.Acked(ctx, w.id)
	for shipped := false; ; { // a lazy chunk is shipped at once, once
		if err != nil {
			return fmt.Errorf("chunk %x: %w", w.id, err)
		}
		missing, merr := missingFor(acked)
		if merr != nil || len(missing) == 0 {
			return merr
		}
		if !shipped && w.mode == dataserver.ReplLazy {
			if err := f.data.ShipNow(ctx, w.id); err != nil {
				return fmt.Errorf("chunk %x: %w", w.id, err)
			}
			shipped = true
		}
		left := time.Until(deadline)
		if left <= 0 {
			slog.Warn("lis fs: write_ack not met; the data stays and replication goes on", "chunk", fmt.Sprintf("%x", w.id),
				"version", w.version, "write_ack", ack, "missing", missing, "waited", f.opts.AckTimeout)
			return fmt.Errorf("chunk %x at version %d: no durable copy on %s after %s: %w", w.id, w.version,
				strings.Join(missing, " or "), f.opts.AckTimeout, syscall.EIO)
		}
		acked, err = f.data.AwaitAcked(ctx, w.id, acked, min(left, time.Second))
		if ctx.Err() != nil {
			return ctx.Err()
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
