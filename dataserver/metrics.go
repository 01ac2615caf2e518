package dataserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/registry"
)

// metrics are the dataserver's Prometheus metrics. They always exist (so
// code never checks for nil); they are exported only when the Config has
// a Registerer.
type metrics struct {
	calls          *msgrpc.CallMetrics
	mutations      *prometheus.CounterVec
	writeBytes     prometheus.Counter
	readBytes      prometheus.Counter
	checksumErrors prometheus.Counter
	checkpoints    prometheus.Counter
	replSentBytes  *prometheus.CounterVec
	replRawBytes   *prometheus.CounterVec
	replResyncs    *prometheus.CounterVec
	replBehind     *prometheus.GaugeVec
	lagBytes       *prometheus.GaugeVec
	lagSeconds     *prometheus.GaugeVec
	limiterWait    prometheus.Counter
	dangerBytes    prometheus.Gauge
	dangerChunks   prometheus.Gauge
	underChunks    prometheus.Gauge
	scrubBytes     prometheus.Counter
	scrubPasses    prometheus.Counter
	damagedChunks  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	calls, err := msgrpc.NewCallMetrics(reg, "lis_dataserver")
	if err != nil {
		return nil, err
	}
	m := &metrics{
		calls: calls,
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_mutations_total", Help: "Mutations acknowledged, by kind.",
		}, []string{"op"}),
		writeBytes: counter("lis_dataserver_write_bytes_total", "Bytes written by clients."),
		readBytes:  counter("lis_dataserver_read_bytes_total", "Bytes read by clients."),
		checksumErrors: counter("lis_dataserver_checksum_errors_total",
			"Blocks that failed checksum verification on read."),
		checkpoints: counter("lis_dataserver_checkpoints_total", "Checkpoints completed."),
		replSentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_replication_sent_bytes_total", Help: "Replication bytes shipped to a peer, as sent on the wire (compressed).",
		}, []string{"peer"}),
		replRawBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_replication_raw_bytes_total", Help: "Replication bytes shipped to a peer, before compression.",
		}, []string{"peer"}),
		replResyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_replication_resyncs_total", Help: "Full chunk copies made to a peer.",
		}, []string{"peer"}),
		replBehind: gaugeVec("lis_dataserver_replication_behind_chunks", "Chunks whose replica on a peer is not current."),
		lagBytes: gaugeVec("lis_dataserver_replication_lag_bytes",
			"Bytes written here that a peer's copies lack (an upper bound), at the last census."),
		lagSeconds: gaugeVec("lis_dataserver_replication_lag_seconds",
			"Age of the oldest change a peer's copies lack, at the last census."),
		limiterWait: counter("lis_dataserver_replication_limiter_wait_seconds_total",
			"Time replication senders waited for the bandwidth limit."),
		dangerBytes: gauge("lis_dataserver_danger_bytes",
			"Bytes of chunks this dataserver is primary of that no other copy holds."),
		dangerChunks: gauge("lis_dataserver_danger_chunks", "Chunks with data that no other copy holds."),
		underChunks:  gauge("lis_dataserver_under_target_chunks", "Chunks with fewer current copies than their target_copies."),
		scrubBytes:   counter("lis_dataserver_scrub_read_bytes_total", "Bytes the scrubber read back and checked."),
		scrubPasses:  counter("lis_dataserver_scrub_passes_total", "Scrubber passes completed over every chunk."),
		damagedChunks: gauge("lis_dataserver_damaged_chunks",
			"Chunks with blocks that failed their checksum (found by the scrubber or a reader)."),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.mutations, m.writeBytes, m.readBytes, m.checksumErrors,
		m.checkpoints, m.replSentBytes, m.replRawBytes, m.replResyncs, m.replBehind, m.lagBytes, m.lagSeconds,
		m.limiterWait, m.dangerBytes, m.dangerChunks, m.underChunks, m.scrubBytes, m.scrubPasses, m.damagedChunks} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func gaugeVec(name, help string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"peer"})
}

// setCensus publishes a census (census.go).
func (m *metrics) setCensus(peers []registry.PeerLag, d registry.Danger, now time.Time) {
	for _, p := range peers {
		m.lagBytes.WithLabelValues(p.ID).Set(float64(p.Bytes))
		m.replBehind.WithLabelValues(p.ID).Set(float64(p.Chunks))
		age := 0.0
		if p.Oldest != 0 {
			age = now.Sub(time.Unix(0, p.Oldest)).Seconds()
		}
		m.lagSeconds.WithLabelValues(p.ID).Set(age)
	}
	m.dangerBytes.Set(float64(d.Bytes))
	m.dangerChunks.Set(float64(d.Chunks))
	m.underChunks.Set(float64(d.Under))
}
