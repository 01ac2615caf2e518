package dataserver

import "github.com/prometheus/client_golang/prometheus"

// metrics are the dataserver's Prometheus metrics. They always exist (so
// code never checks for nil); they are exported only when the Config has
// a Registerer.
type metrics struct {
	mutations      *prometheus.CounterVec
	writeBytes     prometheus.Counter
	readBytes      prometheus.Counter
	checksumErrors prometheus.Counter
	checkpoints    prometheus.Counter
	replSentBytes  *prometheus.CounterVec
	replResyncs    *prometheus.CounterVec
	replBehind     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_mutations_total", Help: "Mutations acknowledged, by kind.",
		}, []string{"op"}),
		writeBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lis_dataserver_write_bytes_total", Help: "Bytes written by clients.",
		}),
		readBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lis_dataserver_read_bytes_total", Help: "Bytes read by clients.",
		}),
		checksumErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lis_dataserver_checksum_errors_total", Help: "Blocks that failed checksum verification on read.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lis_dataserver_checkpoints_total", Help: "Checkpoints completed.",
		}),
		replSentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_replication_sent_bytes_total", Help: "Compressed bytes shipped to a peer.",
		}, []string{"peer"}),
		replResyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lis_dataserver_replication_resyncs_total", Help: "Full chunk copies made to a peer.",
		}, []string{"peer"}),
		replBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lis_dataserver_replication_behind_chunks", Help: "Chunks whose replica on a peer is not current.",
		}, []string{"peer"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.mutations, m.writeBytes, m.readBytes, m.checksumErrors,
		m.checkpoints, m.replSentBytes, m.replResyncs, m.replBehind} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
