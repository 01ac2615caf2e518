package dataserver

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// With Config.TLS set, every TCP peer is authenticated by the cluster CA,
// and the roles in its certificate decide what it may do: the admin calls
// (admin.go) only the metaservice, the replication stream (and so the
// full copies it carries) only another dataserver, so that a client's
// certificate cannot make its holder a chunk's primary or its lease
// holder. Other calls (reads, writes under a lease, checksums, stats) are
// open to every node of the cluster. Peers on the unix socket are the
// co-located client, in plaintext: the admin token decides for them, as it
// does for TCP peers when TLS is not configured.

// requireRole refuses a TLS-authenticated peer without role. authenticated
// reports whether the peer was TLS-authenticated: when it was not, the
// caller applies the plaintext rules.
func (s *Server) requireRole(ctx context.Context, role, call string) (authenticated bool, err error) {
	p, ok := clustertls.PeerIdentity(ctx)
	if !ok {
		return false, nil
	}
	if err := p.Require(role, call); err != nil {
		s.cfg.Logger.Warn("dataserver: call refused", "peer", p.String(), "addr", p.Addr, "err", err)
		return true, err
	}
	return true, nil
}

// requireDataserver guards the replication stream.
func (s *Server) requireDataserver(ctx context.Context, call string) error {
	_, err := s.requireRole(ctx, clustertls.RoleDataserver, call)
	if err == nil {
		return nil
	}
	// A stream handler's error is not converted as a unary one's is: make
	// it the status that carries its errno.
	code, msg := msgrpc.WireError(err)
	return status.Error(codes.Code(code), msg)
}

// serverCreds secure the TCP listener (nil: plaintext).
func (c *Config) serverCreds() credentials.TransportCredentials {
	if c.TLS == nil {
		return nil
	}
	return c.TLS.ServerCreds(c.Logger)
}

// peerCreds secure the connections to other dataservers (nil: plaintext).
func (c *Config) peerCreds() credentials.TransportCredentials {
	if c.TLS == nil {
		return nil
	}
	return c.TLS.ClientCreds()
}
