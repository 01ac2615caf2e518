package metaservice

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/registry"
)

// BenchmarkStatusCall measures what one lis status costs the metaservice
// (the registry, its own state, the sessions, and the paths of 64
// endangered files), on an empty volume and on one with 1,000,000 chunk
// records: the second must cost about the same. Run with -benchtime 20x;
// filling the big volume takes a minute.
func BenchmarkStatusCall(b *testing.B) {
	for _, chunks := range []int{0, 1_000_000} {
		b.Run(fmt.Sprintf("chunks=%d", chunks), func(b *testing.B) {
			s := benchService(b)
			files := fillChunks(b, s, chunks)
			registerDanger(b, s, files)
			b.ResetTimer()
			for range b.N {
				statusCall(b, s, files)
			}
		})
	}
}

// fillChunks makes 1,000 files in /d and gives them chunks records in all
// (written straight into the store, in batches).
func fillChunks(b *testing.B, s *Service, chunks int) []Ino {
	ctx := context.Background()
	dir, err := s.Mkdir(ctx, Root, RootIno, "d", NewNode{Mode: 0o755})
	require.NoError(b, err)
	var files []Ino
	for i := range 1000 {
		a, err := s.Mknod(ctx, Root, dir.Ino, fmt.Sprintf("f%d", i), NewNode{Mode: 0o644})
		require.NoError(b, err)
		files = append(files, a.Ino)
	}
	per := chunks / len(files)
	for i, ino := range files {
		for from := 0; from < per; from += 5000 {
			require.NoError(b, s.update(ctx, func(t *tx) error {
				for idx := from; idx < min(per, from+5000); idx++ {
					rec := ChunkRecord{ID: ChunkID(i*per + idx + 1), Version: 3, Primary: "ds-0",
						Replicas: []Replica{{Dataserver: "ds-0", Version: 3}, {Dataserver: "ds-1", Version: 3}}}
					t.mustSet(chunkKey(ino, uint32(idx)), encode(&rec))
				}
				return nil
			}))
		}
	}
	return files
}

// registerDanger registers three dataservers, each naming 64 chunks of
// distinct files in danger.
func registerDanger(b *testing.B, s *Service, files []Ino) {
	for d := range 3 {
		h := registry.Heartbeat{ID: fmt.Sprintf("ds-%d", d), Addr: fmt.Sprintf("127.0.0.1:%d", 7400+d), Site: fmt.Sprintf("s%d", d)}
		for i := range registry.MaxDangerChunks {
			h.Danger.Top = append(h.Danger.Top, registry.DangerChunk{Ino: uint64(files[d*100+i]), Bytes: 1 << 20})
		}
		require.NoError(b, s.DataserverHeartbeat(context.Background(), h))
	}
}

// statusCall is what lis status asks of the metaservice.
func statusCall(b *testing.B, s *Service, files []Ino) {
	ctx := context.Background()
	list, err := s.ListDataservers(ctx)
	require.NoError(b, err)
	_, err = s.Info(ctx)
	require.NoError(b, err)
	_, err = s.ListSessions(ctx)
	require.NoError(b, err)
	for _, d := range list {
		for _, dc := range d.Danger.Top {
			_, err := s.PathOf(ctx, Ino(dc.Ino))
			require.NoError(b, err)
		}
	}
}
