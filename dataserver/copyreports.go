package dataserver

import (
	"sync"

	"github.com/lis-fs/lis/metaservice/registry"
)

// maxCopyReports bounds the chunks one heartbeat reports; the rest wait
// for the next.
const maxCopyReports = 4096

// copyReports is the set of chunks whose replicas acknowledged a newer
// version since the metaservice was last told. Its lock is a leaf: it is
// taken with no other held, or under a sender's.
type copyReports struct {
	mu  sync.Mutex
	due map[uint64]struct{}
}

func (c *copyReports) add(chunks ...uint64) {
	if len(chunks) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range chunks {
		c.due[id] = struct{}{}
	}
}

// take removes and returns up to limit due chunks.
func (c *copyReports) take(limit int) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint64, 0, min(limit, len(c.due)))
	for id := range c.due {
		if len(out) == limit {
			break
		}
		out = append(out, id)
		delete(c.due, id)
	}
	return out
}

// copyVersions takes up to maxCopyReports due chunks and describes what
// each of their replicas holds durably, with the chunk's owner (chunks
// whose owner is unknown, set by a metaservice that did not say, are
// skipped). The chunks are returned too, to be put back with
// reports.add if the heartbeat that carries them fails.
func (r *replicator) copyVersions() ([]registry.CopyVersion, []uint64) {
	chunks := r.reports.take(maxCopyReports)
	var out []registry.CopyVersion
	for _, id := range chunks {
		cs := r.e.lookup(id)
		if cs == nil {
			continue
		}
		cs.mu.RLock()
		owner := cs.owner
		cs.mu.RUnlock()
		if owner == (ChunkOwner{}) {
			continue
		}
		for _, ri := range r.info(id) {
			out = append(out, registry.CopyVersion{Ino: owner.Ino, Index: owner.Index, Chunk: id,
				Dataserver: ri.Peer.ID, Version: ri.AckedVersion})
		}
	}
	return out, chunks
}
