package metaservice

import (
	"context"
	"sync"
)

// usageTracker accumulates per-shard inode and byte deltas in memory and
// writes them in one transaction per flush interval. Writing them with
// every create would make one hot key per shard that every namespace
// transaction conflicts on. After a crash the totals may be off by the
// last interval's deltas; fsck recomputes them.
type usageTracker struct {
	mu     sync.Mutex // guards deltas
	deltas map[ShardID]usage
}

func newUsageTracker() *usageTracker {
	return &usageTracker{deltas: make(map[ShardID]usage)}
}

func (u *usageTracker) add(s ShardID, inodes, bytes int64) {
	if inodes == 0 && bytes == 0 {
		return
	}
	u.mu.Lock()
	d := u.deltas[s]
	d.Inodes += inodes
	d.Bytes += bytes
	u.deltas[s] = d
	u.mu.Unlock()
}

func (u *usageTracker) drain() map[ShardID]usage {
	u.mu.Lock()
	defer u.mu.Unlock()
	d := u.deltas
	u.deltas = make(map[ShardID]usage)
	return d
}

// pending returns the unflushed delta of one shard.
func (u *usageTracker) pending(s ShardID) usage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.deltas[s]
}

// flushUsage writes accumulated deltas. On failure they are put back.
func (s *Service) flushUsage(ctx context.Context) error {
	deltas := s.usage.drain()
	if len(deltas) == 0 {
		return nil
	}
	err := s.update(ctx, func(t *tx) error {
		for shard, d := range deltas {
			cur, err := t.shardUsage(shard)
			if err != nil {
				return err
			}
			cur.Inodes += d.Inodes
			cur.Bytes += d.Bytes
			t.mustSet(counterKey(shard, cUsage), encode(&cur))
		}
		return nil
	})
	if err != nil {
		for shard, d := range deltas {
			s.usage.add(shard, d.Inodes, d.Bytes)
		}
	}
	return err
}

func (t *tx) shardUsage(shard ShardID) (usage, error) {
	var u usage
	k := counterKey(shard, cUsage)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return u, err
	}
	err = decode(k, v, &u)
	return u, err
}
