package metaservice

import (
	"context"
	"fmt"
	"sync"
)

// idBatch is how many ids one counter transaction reserves. Counters are
// per shard, so shards never contend on one hot key; batching makes the
// counter key a write once per idBatch creates rather than on each.
const idBatch = 1024

// idRange is the reserved, not yet handed out part of a batch: [next, end).
type idRange struct{ next, end uint64 }

// idAllocator hands out inode and chunk numbers per shard. A reserved
// batch lives only in memory: ids of a batch not used before a crash are
// skipped, never reused, because the counter on disk is already past them.
type idAllocator struct {
	s      *Service
	mu     sync.Mutex // guards ranges; never held across a transaction
	ranges map[allocKey]*idRange
	// refill serialises batch reservation per key so two goroutines do not
	// both reserve when one batch would do.
	refill sync.Map // allocKey -> *sync.Mutex
}

type allocKey struct {
	shard ShardID
	which byte // cInode or cChunk
}

func newIDAllocator(s *Service) *idAllocator {
	return &idAllocator{s: s, ranges: make(map[allocKey]*idRange)}
}

func (a *idAllocator) take(k allocKey) (uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.ranges[k]
	if r == nil || r.next >= r.end {
		return 0, false
	}
	id := r.next
	r.next++
	return id, true
}

// next returns a fresh shard-local number for k. It runs its own small
// transaction when the batch is used up, outside the caller's transaction,
// so the caller's conflicts never involve the counter key.
func (a *idAllocator) next(ctx context.Context, k allocKey) (uint64, error) {
	if id, ok := a.take(k); ok {
		return id, nil
	}
	m, _ := a.refill.LoadOrStore(k, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if id, ok := a.take(k); ok {
		return id, nil
	}
	var start uint64
	err := a.s.update(ctx, func(t *tx) error {
		key := counterKey(k.shard, k.which)
		v, err := t.Get(key)
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("shard %d has no counter %q (shard not created?)", k.shard, k.which)
		}
		if start, err = decodeUint(key, v); err != nil {
			return err
		}
		if start+idBatch > localMask {
			return fmt.Errorf("shard %d: %q numbers exhausted", k.shard, k.which)
		}
		t.mustSet(key, encodeUint(start+idBatch))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reserve ids in shard %d: %w", k.shard, err)
	}
	a.mu.Lock()
	a.ranges[k] = &idRange{next: start + 1, end: start + idBatch}
	a.mu.Unlock()
	return start, nil
}

// newIno allocates an inode number in shard s.
func (s *Service) newIno(ctx context.Context, shard ShardID) (Ino, error) {
	n, err := s.ids.next(ctx, allocKey{shard, cInode})
	if err != nil {
		return 0, err
	}
	return MakeIno(shard, n), nil
}

// newChunkID allocates a chunk id in shard s.
func (s *Service) newChunkID(ctx context.Context, shard ShardID) (ChunkID, error) {
	n, err := s.ids.next(ctx, allocKey{shard, cChunk})
	if err != nil {
		return 0, err
	}
	return MakeChunkID(shard, n), nil
}
