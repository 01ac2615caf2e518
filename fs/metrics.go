package fs

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// clientMetrics are the client's own counters; Collectors exports them.
type clientMetrics struct {
	invalidations atomic.Uint64 // events the metaservice pushed
	cacheResets   atomic.Uint64 // whole-cache drops (the metaservice lost the holds)
	streamUp      atomic.Bool   // the invalidation stream is live
}

// Collectors returns the client's metrics: its metadata cache's
// invalidations and whether their stream is live (when it is not, the
// kernel caches for the short timeouts only).
func (f *FS) Collectors() []prometheus.Collector {
	m := &f.metrics
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lis_client_invalidations_total",
			Help: "Cache invalidations the metaservice pushed to this client."},
			func() float64 { return float64(m.invalidations.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lis_client_cache_resets_total",
			Help: "Times this client dropped its whole metadata cache because the metaservice lost its holds."},
			func() float64 { return float64(m.cacheResets.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lis_client_invalidation_stream_up",
			Help: "1 while the invalidation stream is live and metadata is cached for long; 0 while it is cached for the short timeouts."},
			func() float64 {
				if m.streamUp.Load() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lis_client_held_inodes",
			Help: "Inodes this client holds: the metaservice tells it when they change."},
			func() float64 {
				f.coh.mu.Lock()
				defer f.coh.mu.Unlock()
				return float64(len(f.coh.holds))
			}),
	}
}
