package dataserver

import "fmt"

// HeldChunk is one chunk a dataserver holds, as garbage collection sees
// it: a chunk no metaservice record names may be a leftover (a crashed
// create, a copy dropped while this dataserver was away), or a copy on
// its way whose record is being written; Changed tells them apart, with a
// grace period.
type HeldChunk struct {
	ID      uint64 `msgpack:"i"`
	Version uint64 `msgpack:"v"`
	Size    int64  `msgpack:"s"`
	// Changed is when the chunk last changed here (the later of the
	// last mutation seen since the dataserver started and its files'
	// modification time), Unix ns.
	Changed int64 `msgpack:"c"`
}

// ChunkList is every chunk a dataserver holds.
type ChunkList struct {
	Chunks []HeldChunk `msgpack:"c"`
}

// listChunks lists the chunks that exist here (deleted ones and empty
// states excluded).
func (e *engine) listChunks() (*ChunkList, error) {
	out := &ChunkList{}
	for _, cs := range e.snapshotStates() {
		cs.mu.RLock()
		hc, ok := HeldChunk{ID: cs.id, Version: cs.version, Size: cs.size}, cs.exists() && !cs.deleted
		if n := len(cs.marks.marks); n > 0 {
			hc.Changed = cs.marks.marks[n-1].at
		}
		cs.mu.RUnlock()
		if !ok {
			continue
		}
		mod, err := e.store.Modified(hc.ID)
		if err != nil {
			return nil, fmt.Errorf("list chunks: %w", err)
		}
		hc.Changed = max(hc.Changed, mod.UnixNano())
		out.Chunks = append(out.Chunks, hc)
	}
	return out, nil
}
