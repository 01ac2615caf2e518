package metaservice

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lis-fs/lis/metaservice/registry"
)

// Collectors returns the metaservice's own metrics: its KV engine's
// counters, and the registry's and sessions' state, read when scraped
// (one scan of the registry and of the sessions per scrape; neither grows
// with the volume).
func (s *Service) Collectors() []prometheus.Collector {
	kvStat := s.kv.Stats
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lis_metaservice_kv_transactions_total",
			Help: "KV transactions committed or failed."}, func() float64 { return float64(kvStat().Txns) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lis_metaservice_kv_conflicts_total",
			Help: "KV transaction attempts that conflicted and were retried."}, func() float64 { return float64(kvStat().Conflicts) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lis_metaservice_kv_round_trips_total",
			Help: "Round trips to the KV store (TiKV; 0 for the embedded engine)."}, func() float64 { return float64(kvStat().RoundTrips) }),
		&stateCollector{s: s},
	}
}

// stateCollector reports the registry and the sessions when scraped.
type stateCollector struct{ s *Service }

var (
	dataserversDesc = prometheus.NewDesc("lis_metaservice_dataservers",
		"Registered dataservers, by liveness.", []string{"state"}, nil)
	dangerBytesDesc = prometheus.NewDesc("lis_metaservice_danger_bytes",
		"Bytes that exist on one dataserver only, as the dataservers last reported.", nil, nil)
	underChunksDesc = prometheus.NewDesc("lis_metaservice_under_target_chunks",
		"Chunks with fewer current copies than their target_copies, as their primaries last reported.", nil, nil)
	lagBytesDesc = prometheus.NewDesc("lis_metaservice_replication_lag_bytes",
		"Bytes a dataserver's copies on a peer lack, as it last reported.", []string{"dataserver", "peer"}, nil)
	lagSecondsDesc = prometheus.NewDesc("lis_metaservice_replication_lag_seconds",
		"Age of the oldest change a dataserver's copies on a peer lack.", []string{"dataserver", "peer"}, nil)
	sessionsDesc = prometheus.NewDesc("lis_metaservice_sessions", "Client sessions (mounts) alive.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dataserversDesc, dangerBytesDesc, underChunksDesc, lagBytesDesc, lagSecondsDesc, sessionsDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if list, err := c.s.ListDataservers(ctx); err == nil {
		collectRegistry(ch, list, time.Now())
	}
	if ss, err := c.s.ListSessions(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(len(ss)))
	}
}

func collectRegistry(ch chan<- prometheus.Metric, list []DataserverStatus, now time.Time) {
	states := map[registry.Liveness]int{registry.Up: 0, registry.Suspect: 0, registry.Down: 0}
	var danger int64
	var under int
	for _, d := range list {
		states[d.Liveness]++
		danger += d.Danger.Bytes
		under += d.Danger.Under
		for _, p := range d.Peers {
			age := 0.0
			if p.Oldest != 0 {
				age = now.Sub(time.Unix(0, p.Oldest)).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(lagBytesDesc, prometheus.GaugeValue, float64(p.Bytes), d.ID, p.ID)
			ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, age, d.ID, p.ID)
		}
	}
	for l, n := range states {
		ch <- prometheus.MustNewConstMetric(dataserversDesc, prometheus.GaugeValue, float64(n), l.String())
	}
	ch <- prometheus.MustNewConstMetric(dangerBytesDesc, prometheus.GaugeValue, float64(danger))
	ch <- prometheus.MustNewConstMetric(underChunksDesc, prometheus.GaugeValue, float64(under))
}
