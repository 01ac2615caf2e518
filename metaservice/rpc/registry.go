package rpc

import (
	"context"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/registry"
)

// Registry is the dataserver registry: dataservers heartbeat into it,
// clients and tools read it.
type Registry interface {
	DataserverHeartbeat(ctx context.Context, h registry.Heartbeat) error
	ListDataservers(ctx context.Context) ([]ms.DataserverStatus, error)
}

type dataserversResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Dataservers []ms.DataserverStatus
}

func (s *Server) registryMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "DataserverHeartbeat", func(ctx context.Context, h *registry.Heartbeat) (*empty, error) {
			return &empty{}, m.DataserverHeartbeat(ctx, *h)
		}),
		method(s, "ListDataservers", func(ctx context.Context, _ *empty) (*dataserversResp, error) {
			ds, err := m.ListDataservers(ctx)
			return &dataserversResp{Dataservers: ds}, err
		}),
	}
}

// DataserverHeartbeat implements Registry.
func (c *Client) DataserverHeartbeat(ctx context.Context, h registry.Heartbeat) error {
	return callErr(ctx, c, "DataserverHeartbeat", &h)
}

// ListDataservers implements Registry.
func (c *Client) ListDataservers(ctx context.Context) ([]ms.DataserverStatus, error) {
	r, err := call[empty, dataserversResp](ctx, c, "ListDataservers", &empty{})
	if err != nil {
		return nil, err
	}
	return r.Dataservers, nil
}
