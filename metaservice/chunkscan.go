package metaservice

import (
	"context"
	"fmt"
)

// eachChunkRecord calls fn with every chunk record of the volume, shard
// by shard, in pages (one transaction a page): for administrative passes
// (garbage collection, repair, reconciliation), never for a client call.
func (s *Service) eachChunkRecord(ctx context.Context, fn func(ino Ino, index uint32, rec *ChunkRecord) error) error {
	shards, err := s.ListShards(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		start, end := kindRange(sh.ID, kChunk)
		err := s.scanPaged(ctx, start, end, func(k, v []byte) error {
			rec := &ChunkRecord{}
			if err := decode(k, v, rec); err != nil {
				return err
			}
			return fn(inoOfKey(k), chunkIndexOf(k), rec)
		})
		if err != nil {
			return fmt.Errorf("scan the chunks of shard %d: %w", sh.ID, err)
		}
	}
	return nil
}
