package main

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/metaservice/clustertls"
)

// The daemons' --tls-dir: a node directory made by `lis ca issue` (ca.go).

// loadTLS loads the node directory given with --tls-dir, or returns nil
// for "". A certificate that expired, or lacks role (when role is not ""),
// is refused now rather than by every peer later.
func loadTLS(dir, role string) (*clustertls.Identity, error) {
	if dir == "" {
		return nil, nil
	}
	id, err := clustertls.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("--tls-dir: %w", err)
	}
	if err := id.Valid(time.Now()); err != nil {
		return nil, fmt.Errorf("--tls-dir %s: %w", dir, err)
	}
	if role != "" && !id.Has(role) {
		return nil, fmt.Errorf("--tls-dir %s: node %s has roles %s, not %s (issue it with lis ca issue --role %s)",
			dir, id.Name, strings.Join(id.Roles, ","), role, role)
	}
	return id, nil
}

// clientCreds are id's credentials for connections to other nodes; nil
// (plaintext) without TLS.
func clientCreds(id *clustertls.Identity) credentials.TransportCredentials {
	if id == nil {
		return nil
	}
	return id.ClientCreds()
}

// notLocalError refuses a plaintext --listen on an address other hosts
// can reach.
func notLocalError(listen string) error {
	return fmt.Errorf("--listen %s is not a loopback address and TLS is not configured; "+
		"give --tls-dir (see lis ca), use a loopback address or --unix, or --insecure on a trusted network", listen)
}
