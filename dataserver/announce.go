package dataserver

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/lis-fs/lis/metaservice/registry"
)

// Registry is where a dataserver announces itself: the metaservice's
// dataserver registry, over RPC or in process.
type Registry interface {
	DataserverHeartbeat(ctx context.Context, h registry.Heartbeat) error
}

// DefaultHeartbeat is how often a dataserver reports to the registry.
const DefaultHeartbeat = 2 * time.Second

// heartbeat is what the server reports to the registry, its census
// included; addr is where peers and remote clients reach it.
func (s *Server) heartbeat(addr string) registry.Heartbeat {
	st := Stat{LogicalBytes: s.e.logical.Load()} // not s.e.stat(): it counts chunks, a pass over all
	s.e.fillSpace(&st)
	h := registry.Heartbeat{ID: s.cfg.ID, Addr: addr, Site: s.cfg.Site, Region: s.cfg.Region,
		Capacity: st.Capacity, Free: st.Free, JournalBytes: s.e.j.Size(), AdminToken: s.cfg.AdminToken,
		ReplLimit: s.cfg.ReplicationLimit, Started: s.started.UnixNano()}
	h.Peers, h.Danger, h.ReplRate = s.census(time.Now())
	h.Damaged, h.DamagedCount = s.e.damagedReport()
	h.Fault = s.e.fault()
	h.Quarantined, h.QuarantinedCount = s.e.quarantineReport()
	for _, p := range h.Peers {
		h.Behind += p.Chunks
	}
	return h
}

// beat sends one heartbeat, with the copy versions due; those go back to
// the queue if it fails.
func (s *Server) beat(ctx context.Context, reg Registry, addr string) error {
	h := s.heartbeat(addr)
	var chunks []uint64
	h.Copies, chunks = s.repl.copyVersions()
	err := reg.DataserverHeartbeat(ctx, h)
	if err != nil {
		s.repl.reports.add(chunks...)
	}
	return err
}

// Announce registers the server with reg as reachable at addr, then
// heartbeats every interval until ctx ends or the server closes. The
// first heartbeat is made before Announce returns, so a refusal (another
// live dataserver holds this ID, the registry finds its ID or address
// malformed, or its certificate is not this ID's) stops a daemon at its
// start, with the registry's reason. A registry that cannot be reached yet (the metaservice starting at the
// same time) is not a refusal: that and later failures are logged and
// retried at the next beat. The heartbeat goroutine belongs to the
// server: ctx or Close stops it.
func (s *Server) Announce(ctx context.Context, reg Registry, addr string, interval time.Duration) error {
	err := s.beat(ctx, reg, addr)
	if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("register dataserver %s with the metaservice: %w", s.cfg.ID, err)
	}
	if err != nil {
		s.cfg.Logger.Warn("dataserver: metaservice not reachable yet; registering at the next heartbeat", "id", s.cfg.ID, "err", err)
	}
	go s.heartbeats(ctx, reg, addr, interval, err != nil)
	return nil
}

// heartbeats reports to reg every interval until ctx ends or the server
// closes; after a failed beat it tries again sooner (from 100 ms,
// doubling), so a dataserver that started before its metaservice is
// registered moments after it comes up.
func (s *Server) heartbeats(ctx context.Context, reg Registry, addr string, interval time.Duration, failed bool) {
	retry := 100 * time.Millisecond
	for {
		wait := interval
		if failed {
			wait, retry = min(retry, interval), 2*retry
		} else {
			retry = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-time.After(wait):
		}
		err := s.beat(ctx, reg, addr)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("dataserver heartbeat", "id", s.cfg.ID, "err", err)
		}
		failed = err != nil
	}
}
