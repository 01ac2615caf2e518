package dataserver

import (
	"context"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"google.golang.org/grpc"
)

// serviceDesc declares the dataserver RPC service: unary methods through
// msgrpc, plus the Replicate and Writes streams.
func (s *Server) serviceDesc() *grpc.ServiceDesc {
	e := s.e
	desc := msgrpc.ServiceDesc(ServiceName,
		msgrpc.Method("Write", func(ctx context.Context, r *WriteReq) (*WriteResp, error) {
			if err := s.loadShm(ctx, r); err != nil {
				return nil, err
			}
			return e.write(ctx, r)
		}),
		msgrpc.Method("Read", func(_ context.Context, r *ReadReq) (*ReadResp, error) {
			return e.read(r)
		}),
		msgrpc.Method("Sync", func(ctx context.Context, r *SyncReq) (*SyncResp, error) {
			return e.sync(ctx, r)
		}),
		msgrpc.Method("Truncate", func(ctx context.Context, r *TruncateReq) (*WriteResp, error) {
			return e.truncate(ctx, r)
		}),
		adminMethod(s, "Delete", func(ctx context.Context, r *DeleteReq) error { return s.deleteChunk(ctx, r.Chunk, r.Quarantine) }),
		adminMethod(s, "GrantLease", e.grantLease),
		adminMethod(s, "RevokeLease", e.revokeLease),
		adminMethod(s, "SetReplicas", s.setReplicas),
		msgrpc.Method("AwaitAcked", func(ctx context.Context, r *AckedReq) (*AckedResp, error) {
			return s.repl.awaitAcked(ctx, r), nil
		}),
		msgrpc.Method("ShipNow", func(_ context.Context, r *ChunkReq) (*Empty, error) {
			s.repl.shipNow(r.Chunk)
			return &Empty{}, nil
		}),
		msgrpc.Method("ChunkInfo", func(_ context.Context, r *ChunkReq) (*ChunkInfo, error) {
			return s.chunkInfo(r.Chunk)
		}),
		msgrpc.Method("Checksums", func(_ context.Context, r *ChunkReq) (*Checksums, error) {
			return e.checksums(r.Chunk)
		}),
		msgrpc.Method("Stat", func(_ context.Context, _ *Empty) (*Stat, error) {
			return s.stat(), nil
		}),
		msgrpc.Method("ListChunks", func(_ context.Context, _ *Empty) (*ChunkList, error) {
			return e.listChunks()
		}),
	)
	replicate, writes := replicateDesc, writesDesc
	replicate.Handler = func(_ any, stream grpc.ServerStream) error {
		if err := s.requireDataserver(stream.Context(), "Replicate"); err != nil {
			return err
		}
		return e.receive(stream)
	}
	writes.Handler = func(_ any, stream grpc.ServerStream) error { return s.serveWrites(stream) }
	desc.Streams = append(desc.Streams, replicate, writes)
	return desc
}

// adminMethod is a method only the metaservice may call (see admin.go).
func adminMethod[Req any](s *Server, name string, h func(ctx context.Context, req *Req) error) grpc.MethodDesc {
	return msgrpc.Method(name, func(ctx context.Context, r *Req) (*Empty, error) {
		if err := s.checkAdmin(ctx, name); err != nil {
			return nil, err
		}
		return &Empty{}, h(ctx, r)
	})
}
