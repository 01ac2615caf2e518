package rpc

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// MaxReleases is the most holds one AwaitInvalidations gives back.
const MaxReleases = 65536

type awaitReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Session uint64
	Epoch   uint64
	Seq     uint64
	Release []callbacks.Release
	Wait    int64 // nanoseconds
}

func (r *awaitReq) check() error {
	if r.Session == 0 {
		return invalid("await invalidations of session 0")
	}
	if len(r.Release) > MaxReleases {
		return fmt.Errorf("release of %d holds (limit %d): %w", len(r.Release), MaxReleases, syscall.E2BIG)
	}
	r.Wait = min(max(r.Wait, 0), int64(ms.MaxInvalidationWait))
	return nil
}

// AwaitInvalidations is a long call: it returns when an event is queued,
// after wait, or when ctx ends or the metaservice stops (EINTR).
func (c *Client) AwaitInvalidations(ctx context.Context, session, epoch, seq uint64, release []callbacks.Release, wait time.Duration) (callbacks.Batch, error) {
	r, err := call[awaitReq, callbacks.Batch](ctx, c, "AwaitInvalidations", &awaitReq{Session: session,
		Epoch: epoch, Seq: seq, Release: release, Wait: int64(wait)})
	if err != nil {
		return callbacks.Batch{}, err
	}
	return *r, nil
}

func (s *Server) invalidationMethods() []grpc.MethodDesc {
	return []grpc.MethodDesc{
		method(s, "AwaitInvalidations", func(ctx context.Context, r *awaitReq) (*callbacks.Batch, error) {
			ctx, done := s.longCall(ctx)
			defer done()
			b, err := s.meta.AwaitInvalidations(ctx, r.Session, r.Epoch, r.Seq, r.Release, time.Duration(r.Wait))
			return &b, err
		}),
	}
}
