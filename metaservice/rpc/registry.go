package rpc

import (
	"context"
	"fmt"
	"syscall"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/registry"
)

// Registry is the dataserver registry: dataservers heartbeat into it,
// clients and tools read it.
type Registry interface {
	DataserverHeartbeat(ctx context.Context, h registry.Heartbeat) error
	ListDataservers(ctx context.Context) ([]ms.DataserverStatus, error)
	// PathOf and Info serve lis status, GarbageChunks lis gc.
	PathOf(ctx context.Context, ino ms.Ino) (string, error)
	Info(ctx context.Context) (*ms.Info, error)
	GarbageChunks(ctx context.Context, ds string, held []uint64, collect bool) ([]uint64, error)
}

type garbageReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Dataserver string
	Held       []uint64
	Collect    bool
}

type garbageResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunks []uint64
}

type pathResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Path string
}

type dataserversResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Dataservers []ms.DataserverStatus
}

func (s *Server) registryMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "DataserverHeartbeat", func(ctx context.Context, h *registry.Heartbeat) (*empty, error) {
			if err := s.checkHeartbeatPeer(ctx, h.ID); err != nil {
				return nil, err
			}
			return &empty{}, m.DataserverHeartbeat(ctx, *h)
		}),
		method(s, "ListDataservers", func(ctx context.Context, _ *empty) (*dataserversResp, error) {
			ds, err := m.ListDataservers(ctx)
			return &dataserversResp{Dataservers: ds}, err
		}),
		method(s, "PathOf", func(ctx context.Context, r *inoReq) (*pathResp, error) {
			p, err := m.PathOf(ctx, r.Ino)
			return &pathResp{Path: p}, err
		}),
		method(s, "Info", func(ctx context.Context, _ *empty) (*ms.Info, error) {
			return m.Info(ctx)
		}),
		method(s, "GarbageChunks", func(ctx context.Context, r *garbageReq) (*garbageResp, error) {
			ids, err := m.GarbageChunks(ctx, r.Dataserver, r.Held, r.Collect)
			return &garbageResp{Chunks: ids}, err
		}),
	}
}

// checkHeartbeatPeer refuses a heartbeat from a TLS peer that is not the
// dataserver it reports on: only the holder of a dataserver certificate
// naming ID may register or update ID, since the registry is where the
// metaservice sends leases and copies. A plaintext peer (a unix socket,
// or TCP without TLS) is let through as before.
func (s *Server) checkHeartbeatPeer(ctx context.Context, id string) error {
	p, ok := clustertls.PeerIdentity(ctx)
	if !ok {
		return nil
	}
	err := p.Require(clustertls.RoleDataserver, "DataserverHeartbeat")
	if err == nil && p.Name != id {
		err = fmt.Errorf("DataserverHeartbeat: refused to %s: it heartbeats as dataserver %q, and its certificate may speak for %q only: %w",
			p, id, p.Name, syscall.EPERM)
	}
	if err != nil {
		s.log.Warn("metaservice: heartbeat refused", "peer", p.String(), "addr", p.Addr, "err", err)
	}
	return err
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

// PathOf implements Registry.
func (c *Client) PathOf(ctx context.Context, ino ms.Ino) (string, error) {
	r, err := call[inoReq, pathResp](ctx, c, "PathOf", &inoReq{Ino: ino})
	if err != nil {
		return "", err
	}
	return r.Path, nil
}

// Info implements Registry.
func (c *Client) Info(ctx context.Context) (*ms.Info, error) {
	return call[empty, ms.Info](ctx, c, "Info", &empty{})
}

// GarbageChunks implements Registry.
func (c *Client) GarbageChunks(ctx context.Context, ds string, held []uint64, collect bool) ([]uint64, error) {
	r, err := call[garbageReq, garbageResp](ctx, c, "GarbageChunks", &garbageReq{Dataserver: ds, Held: held, Collect: collect})
	if err != nil {
		return nil, err
	}
	return r.Chunks, nil
}
