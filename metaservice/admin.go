package metaservice

import (
	"context"

	"github.com/lis-fs/lis/dataserver"
)

// adminDataservers makes the admin calls of the Dataservers it wraps with
// the admin token of the dataserver called (dataserver/admin.go), which
// the dataserver gave in its heartbeats.
type adminDataservers struct {
	Dataservers
	s *Service
}

func (a adminDataservers) GrantLease(ctx context.Context, addr string, l dataserver.Lease) error {
	return a.Dataservers.GrantLease(a.s.adminContext(ctx, addr), addr, l)
}

func (a adminDataservers) RevokeLease(ctx context.Context, addr string, chunk, epoch uint64) error {
	return a.Dataservers.RevokeLease(a.s.adminContext(ctx, addr), addr, chunk, epoch)
}

func (a adminDataservers) SetReplicas(ctx context.Context, addr string, req dataserver.SetReplicasReq) error {
	return a.Dataservers.SetReplicas(a.s.adminContext(ctx, addr), addr, req)
}

func (a adminDataservers) Delete(ctx context.Context, addr string, chunk uint64) error {
	return a.Dataservers.Delete(a.s.adminContext(ctx, addr), addr, chunk)
}

func (a adminDataservers) Quarantine(ctx context.Context, addr string, chunk uint64) error {
	return a.Dataservers.Quarantine(a.s.adminContext(ctx, addr), addr, chunk)
}

// adminContext returns ctx with the admin token of the dataserver at addr,
// from the registry snapshot, or read afresh when the snapshot does not
// have it (a dataserver registered moments ago). Without a token the call
// goes as it is: a dataserver without one accepts it.
func (s *Service) adminContext(ctx context.Context, addr string) context.Context {
	if tok := adminToken(s.dataserversNow(ctx)); tok(addr) != "" {
		return dataserver.AdminContext(ctx, tok(addr))
	}
	if tok := adminToken(s.listDataservers(ctx)); tok(addr) != "" {
		return dataserver.AdminContext(ctx, tok(addr))
	}
	return ctx
}

// adminToken looks tokens up by address in a registry listing; when
// several records share the address (a dataserver re-created under another
// ID), the most recently heard from wins.
func adminToken(list []DataserverStatus, err error) func(addr string) string {
	return func(addr string) string {
		var best *DataserverStatus
		for i, d := range list {
			if err == nil && d.Addr == addr && (best == nil || d.LastBeat > best.LastBeat) {
				best = &list[i]
			}
		}
		if best == nil {
			return ""
		}
		return best.AdminToken
	}
}
