package dataserver

import (
	"context"
	"fmt"
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

// heartbeat is what the server reports to the registry; addr is where
// peers and remote clients reach it.
func (s *Server) heartbeat(addr string) registry.Heartbeat {
	st := s.stat()
	h := registry.Heartbeat{ID: st.ID, Addr: addr, Site: st.Site, Region: st.Region,
		Capacity: st.Capacity, Free: st.Free, JournalBytes: st.JournalBytes}
	for _, p := range st.Peers {
		h.Behind += p.Behind
	}
	return h
}

// Announce registers the server with reg as reachable at addr, then
// heartbeats every interval until ctx ends or the server closes. The
// registration is made before Announce returns, so a refusal (another
// live dataserver holds this ID) stops a daemon at its start, with the
// registry's reason; later failures are logged and retried at the next
// beat. The heartbeat goroutine belongs to the server: ctx or Close stops
// it.
func (s *Server) Announce(ctx context.Context, reg Registry, addr string, interval time.Duration) error {
	if err := reg.DataserverHeartbeat(ctx, s.heartbeat(addr)); err != nil {
		return fmt.Errorf("register dataserver %s with the metaservice: %w", s.cfg.ID, err)
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			case <-t.C:
				if err := reg.DataserverHeartbeat(ctx, s.heartbeat(addr)); err != nil && ctx.Err() == nil {
					s.cfg.Logger.Warn("dataserver heartbeat", "id", s.cfg.ID, "err", err)
				}
			}
		}
	}()
	return nil
}
