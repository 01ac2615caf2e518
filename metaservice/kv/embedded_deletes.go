package kv

import (
	"sync"

	"github.com/cockroachdb/pebble"
)

// recentDeletes remembers the keys whose newest committed version is a
// deletion that may still sit in a memtable.
//
// pebble answers a read of such a key by stepping over every older version
// of it in the memtable, so a name created and removed thousands of times
// (a lock file, a database's journal, the open record of a file opened
// again and again) costs milliseconds per lookup until the memtable is
// flushed. A read at a snapshot that includes the deletion is answered
// from here instead. Entries go once a flush has written their memtable
// out: a flush keeps only the newest version of each key.
//
// Invariant: if m[k] = s, the newest committed version of k is a deletion
// committed at sequence number s.
type recentDeletes struct {
	mu       sync.RWMutex // guards m and flushing
	m        map[string]uint64
	flushing []uint64 // the commit sequence number when each running flush began
}

func newRecentDeletes() *recentDeletes { return &recentDeletes{m: map[string]uint64{}} }

// record notes the writes of a commit numbered seq. Called under commitMu,
// after the commit is applied and before seq is published.
func (r *recentDeletes) record(writes map[string][]byte, seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range writes {
		if v == nil {
			r.m[k] = seq
		} else {
			delete(r.m, k)
		}
	}
}

// absentAt reports whether key is known to be deleted in a snapshot that
// includes every commit up to seq.
func (r *recentDeletes) absentAt(key []byte, seq uint64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.m[string(key)]
	return ok && s <= seq
}

// listener hooks the flush events; cur reads the current commit sequence.
func (r *recentDeletes) listener(cur func() uint64) pebble.EventListener {
	return pebble.EventListener{
		FlushBegin: func(pebble.FlushInfo) {
			r.mu.Lock()
			r.flushing = append(r.flushing, cur())
			r.mu.Unlock()
		},
		FlushEnd: func(info pebble.FlushInfo) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.flushing) == 0 {
				return
			}
			upTo := r.flushing[0]
			r.flushing = r.flushing[1:]
			if info.Err != nil {
				return
			}
			// Entries committed after the flushed memtable was sealed may go
			// too; their reads merely take pebble's slower path.
			for k, s := range r.m {
				if s <= upTo {
					delete(r.m, k)
				}
			}
		},
	}
}
