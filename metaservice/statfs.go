package metaservice

import "context"

// StatFS is the volume's usage, for statfs(2).
type StatFS struct {
	Capacity   uint64 // bytes
	UsedBytes  uint64
	UsedInodes uint64
	MaxInodes  uint64
}

// StatFS sums usage over every shard, including deltas not yet flushed.
func (s *Service) StatFS(ctx context.Context) (*StatFS, error) {
	shards, err := s.ListShards(ctx)
	if err != nil {
		return nil, err
	}
	st := &StatFS{Capacity: s.opts.Capacity, MaxInodes: 1 << 40}
	for _, sh := range shards {
		st.UsedBytes += uint64(max(sh.Bytes, 0))
		st.UsedInodes += uint64(max(sh.Inodes, 0))
	}
	return st, nil
}
