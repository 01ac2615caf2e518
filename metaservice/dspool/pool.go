package dspool

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/dataserver"
)

// Pool dials dataservers by address and keeps one client per address.
// It is safe for concurrent use.
type Pool struct {
	creds credentials.TransportCredentials // secure TCP dials; nil: plaintext

	mu      sync.Mutex // guards the fields below
	clients map[string]calls
	local   map[string]calls // in-process dataservers, by the address they registered
	closed  bool
}

// calls are what the pool asks of a dataserver: *dataserver.Client over
// RPC, *dataserver.Local in process.
type calls interface {
	GrantLease(ctx context.Context, l dataserver.Lease) error
	RevokeLease(ctx context.Context, chunk, epoch uint64) error
	SetReplicas(ctx context.Context, req dataserver.SetReplicasReq) error
	ChunkInfo(ctx context.Context, chunk uint64) (*dataserver.ChunkInfo, error)
	Delete(ctx context.Context, chunk uint64) error
	Quarantine(ctx context.Context, chunk uint64) error
}

// New returns an empty pool that dials in plaintext.
func New() *Pool { return NewCreds(nil) }

// NewCreds returns an empty pool whose TCP dials use creds: the
// metaservice's cluster TLS identity, which the dataservers require of
// admin calls (unix sockets stay plaintext).
func NewCreds(creds credentials.TransportCredentials) *Pool {
	return &Pool{creds: creds, clients: map[string]calls{}, local: map[string]calls{}}
}

// AddLocal makes calls to addr go to the in-process dataserver l, without
// RPC: the embedded volume's metaservice and dataserver share a process,
// and a lease installed per new chunk should not cost a round trip.
func (p *Pool) AddLocal(addr string, l *dataserver.Local) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.local[addr] = l
}

func (p *Pool) client(addr string) (calls, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("dataserver pool closed")
	}
	if l, ok := p.local[addr]; ok {
		return l, nil
	}
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	c, err := dataserver.DialCreds(addr, p.creds)
	if err != nil {
		return nil, fmt.Errorf("dial dataserver at %s: %w", addr, err)
	}
	p.clients[addr] = c
	return c, nil
}

// GrantLease installs a lease on the dataserver at addr.
func (p *Pool) GrantLease(ctx context.Context, addr string, l dataserver.Lease) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	return c.GrantLease(ctx, l)
}

// RevokeLease ends the leases of chunk up to epoch on the dataserver at
// addr; everything it acknowledged is durable when this returns.
func (p *Pool) RevokeLease(ctx context.Context, addr string, chunk, epoch uint64) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	return c.RevokeLease(ctx, chunk, epoch)
}

// SetReplicas sets the peers the dataserver at addr ships a chunk to.
func (p *Pool) SetReplicas(ctx context.Context, addr string, req dataserver.SetReplicasReq) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	return c.SetReplicas(ctx, req)
}

// ChunkInfo describes chunk on the dataserver at addr.
func (p *Pool) ChunkInfo(ctx context.Context, addr string, chunk uint64) (*dataserver.ChunkInfo, error) {
	c, err := p.client(addr)
	if err != nil {
		return nil, err
	}
	return c.ChunkInfo(ctx, chunk)
}

// Delete deletes chunk on the dataserver at addr.
func (p *Pool) Delete(ctx context.Context, addr string, chunk uint64) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	return c.Delete(ctx, chunk)
}

// Quarantine takes chunk's copy on the dataserver at addr out of
// service, keeping its files.
func (p *Pool) Quarantine(ctx context.Context, addr string, chunk uint64) error {
	c, err := p.client(addr)
	if err != nil {
		return err
	}
	return c.Quarantine(ctx, chunk)
}

// Close closes every client; later calls fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for addr, c := range p.clients {
		errs = append(errs, c.(*dataserver.Client).Close())
		delete(p.clients, addr)
	}
	clear(p.local)
	return errors.Join(errs...)
}
