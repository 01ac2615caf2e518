package fs

import (
	"math/bits"
	"sync"
)

// createHint says whether a create should make the file's first chunk at
// once (metaservice.CreateFile), from what became of the last files this
// client created: a file about to be written saves the round trip of its
// first write's chunk allocation, but an empty one (touch, lock files)
// would only leave its dataserver a lease and a chunk to keep. Most
// workloads do one or the other for long stretches (tar -x writes every
// file, a test suite touches thousands), so the last 16 outcomes decide.
type createHint struct {
	mu      sync.Mutex
	written uint16 // one bit per recent create: set if the file was written
	seen    int    // outcomes recorded, up to 16
}

// chunkAtCreate reports whether the next create should make the chunk:
// yes until outcomes are known, then while at least half were written.
func (h *createHint) chunkAtCreate() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen < 4 || 2*bits.OnesCount16(h.written) >= min(h.seen, 16)
}

// outcome records whether a file this client created was written before
// its last close.
func (h *createHint) outcome(written bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written <<= 1
	if written {
		h.written |= 1
	}
	h.seen = min(h.seen+1, 16)
}
