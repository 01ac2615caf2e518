package metaservice

import (
	"context"

	"github.com/lis-fs/lis/metaservice/registry"
)

// StatFS is the volume's usage, for statfs(2).
type StatFS struct {
	Capacity   uint64 // bytes
	UsedBytes  uint64
	UsedInodes uint64
	MaxInodes  uint64
	// FreeBytes is what the dataservers can still take (0 when none is
	// registered: then free is Capacity less UsedBytes).
	FreeBytes uint64
}

// StatFS sums usage over every shard, including deltas not yet flushed.
// Capacity and free space are the registered dataservers' that are not
// down, as their heartbeats reported them (free net of the reserve each
// keeps), so df says what the disks can hold, not a configured size.
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
	list, err := s.dataserversNow(ctx)
	if err != nil {
		return nil, err
	}
	var capacity, free uint64
	for _, d := range list {
		if d.Liveness != registry.Down {
			capacity += uint64(max(d.Capacity, 0))
			free += uint64(max(d.Free, 0))
		}
	}
	if capacity > 0 {
		st.Capacity, st.FreeBytes = capacity, free
	}
	return st, nil
}
