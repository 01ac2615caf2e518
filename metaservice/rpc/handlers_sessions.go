package rpc

import (
	"context"
	"time"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
)

func (s *Server) sessionMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "Open", func(ctx context.Context, r *openReq) (*ms.Attr, error) {
			return m.Open(ctx, r.Cred.cred(), r.Ino, r.Flags, r.Session)
		}),
		method(s, "Release", func(ctx context.Context, r *releaseReq) (*empty, error) {
			return &empty{}, m.Release(ctx, r.Ino, r.Session)
		}),
		method(s, "ReleaseOpens", func(ctx context.Context, r *releaseOpensReq) (*empty, error) {
			return &empty{}, m.ReleaseOpens(ctx, r.Inos, r.Session)
		}),
		method(s, "RegisterSession", func(ctx context.Context, r *registerReq) (*idResp, error) {
			id, err := m.RegisterSession(ctx, r.Info)
			return &idResp{ID: id}, err
		}),
		method(s, "Heartbeat", func(ctx context.Context, r *idReq) (*empty, error) {
			return &empty{}, m.Heartbeat(ctx, r.ID)
		}),
		method(s, "CloseSession", func(ctx context.Context, r *idReq) (*empty, error) {
			return &empty{}, m.CloseSession(ctx, r.ID)
		}),
		method(s, "ListSessions", func(ctx context.Context, _ *empty) (*sessionsResp, error) {
			ss, err := m.ListSessions(ctx)
			return &sessionsResp{Sessions: toWireSessions(ss)}, err
		}),
		method(s, "Flock", func(ctx context.Context, r *flockReq) (*empty, error) {
			if r.Block {
				var done context.CancelFunc
				ctx, done = s.longCall(ctx)
				defer done()
			}
			return &empty{}, m.Flock(ctx, r.Ino, r.Holder, r.Type, r.Block)
		}),
		method(s, "GetLk", func(ctx context.Context, r *lockReq) (*ms.PosixLock, error) {
			l, err := m.GetLk(ctx, r.Ino, r.Lock)
			return &l, err
		}),
		method(s, "SetLk", func(ctx context.Context, r *lockReq) (*empty, error) {
			if r.Block {
				var done context.CancelFunc
				ctx, done = s.longCall(ctx)
				defer done()
			}
			return &empty{}, m.SetLk(ctx, r.Ino, r.Lock, r.Block)
		}),
		method(s, "ReleaseOwner", func(ctx context.Context, r *ownerReq) (*empty, error) {
			return &empty{}, m.ReleaseOwner(ctx, r.Ino, r.Holder)
		}),
	}
}

func (s *Server) chunkMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "AllocChunk", func(ctx context.Context, r *chunkReq) (*ms.ChunkRecord, error) {
			return m.AllocChunk(ctx, r.Ino, r.Index, r.Dataserver, time.Duration(r.Lease))
		}),
		method(s, "AcquireLease", func(ctx context.Context, r *chunkReq) (*ms.ChunkRecord, error) {
			return m.AcquireLease(ctx, r.Ino, r.Index, r.Dataserver, time.Duration(r.Lease))
		}),
		method(s, "Chunks", func(ctx context.Context, r *chunksReq) (*chunksResp, error) {
			cs, err := m.Chunks(ctx, r.Ino, r.From, r.To)
			return &chunksResp{Chunks: toWireChunks(cs)}, err
		}),
		method(s, "CommitWrite", func(ctx context.Context, r *commitReq) (*ms.Attr, error) {
			return m.CommitWrite(ctx, r.Ino, r.Size, r.Mtime, r.Chunks)
		}),
		method(s, "PendingDeletions", func(ctx context.Context, r *limitReq) (*deletionsResp, error) {
			ds, err := m.PendingDeletions(ctx, int(r.Limit))
			return &deletionsResp{Deletions: toWireDeletions(ds)}, err
		}),
		method(s, "AckDeletions", func(ctx context.Context, r *ackReq) (*empty, error) {
			return &empty{}, m.AckDeletions(ctx, r.Chunks)
		}),
	}
}

func (s *Server) adminMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "CreateShard", func(ctx context.Context, r *createShardReq) (*ms.ShardRecord, error) {
			return m.CreateShard(ctx, r.Cred.cred(), r.Dir, r.Path)
		}),
		method(s, "ListShards", func(ctx context.Context, _ *empty) (*shardsResp, error) {
			ss, err := m.ListShards(ctx)
			return &shardsResp{Shards: toWireShards(ss)}, err
		}),
		method(s, "SetShardSite", func(ctx context.Context, r *siteReq) (*empty, error) {
			return &empty{}, m.SetShardSite(ctx, r.Shard, r.Site)
		}),
		method(s, "PlacementRules", func(ctx context.Context, r *placementReq) (*bytesResp, error) {
			b, err := m.PlacementRules(ctx, r.Group, r.LabelKey, int(r.Voters))
			return &bytesResp{B: b}, err
		}),
		method(s, "Fsck", func(ctx context.Context, _ *empty) (*fsckResp, error) {
			rep, err := m.Fsck(ctx)
			if err != nil {
				return nil, err
			}
			return toWireFsck(rep), nil
		}),
	}
}
