package dataserver

import "sync"

// watchSet is the set of chunks the census visits: those this dataserver
// is the primary of that changed, or whose copies were not all current
// at the last census. A chunk every copy holds is left out until its
// next change, so that a census costs what lags, not what is stored.
// Its lock is a leaf.
type watchSet struct {
	mu  sync.Mutex
	ids map[uint64]struct{}
}

func (w *watchSet) add(id uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ids == nil {
		w.ids = map[uint64]struct{}{}
	}
	w.ids[id] = struct{}{}
}

// take empties the set and returns what it held.
func (w *watchSet) take() map[uint64]struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := w.ids
	w.ids = nil
	return ids
}

// watchPrimary puts cs in the census's view after a change, if this
// dataserver is its primary. Caller holds cs.mu: a census that takes the
// set after this sees the change.
func (e *engine) watchPrimary(cs *chunkState) {
	if cs.owner != (ChunkOwner{}) {
		e.watch.add(cs.id)
	}
}

// watchAll puts every chunk in the census's view (after recovery).
func (e *engine) watchAll() {
	for _, cs := range e.snapshotStates() {
		e.watch.add(cs.id)
	}
}
