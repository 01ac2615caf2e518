package msgrpc

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// LatencyBuckets are the buckets of every Lis operation histogram, in
// seconds: from a co-located call (tens of µs) to a lock wait or a
// cross-site round trip of a few seconds.
var LatencyBuckets = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
	25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// CallMetrics are a server's per-method call metrics.
type CallMetrics struct {
	calls    *prometheus.CounterVec   // by method and gRPC code
	duration *prometheus.HistogramVec // by method
}

// NewCallMetrics makes and registers the call metrics of a server whose
// metric names start with prefix (lis_metaservice, lis_dataserver). reg
// may be nil: nothing is exported then. If registering fails, the
// metrics returned still work, unexported.
func NewCallMetrics(reg prometheus.Registerer, prefix string) (*CallMetrics, error) {
	m := &CallMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_requests_total", Help: "RPC calls served, by method and gRPC status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "_request_duration_seconds", Help: "Time to serve an RPC call, by method.",
			Buckets: LatencyBuckets,
		}, []string{"method"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("register call metrics: %w", err)
		}
	}
	return m, nil
}

// ServerOptions returns the interceptors that observe every call.
func (m *CallMetrics) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			defer m.observe(info.FullMethod, time.Now())
			resp, err := h(ctx, req)
			m.count(info.FullMethod, err)
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			defer m.observe(info.FullMethod, time.Now())
			err := h(srv, ss)
			m.count(info.FullMethod, err)
			return err
		}),
	}
}

func (m *CallMetrics) observe(method string, start time.Time) {
	m.duration.WithLabelValues(path.Base(method)).Observe(time.Since(start).Seconds())
}

func (m *CallMetrics) count(method string, err error) {
	m.calls.WithLabelValues(path.Base(method), status.Code(err).String()).Inc()
}

// clientCalls, once set by ObserveClientCalls, observes every unary call
// made on the connections Dial makes, in this process.
var clientCalls atomic.Pointer[CallMetrics]

// ObserveClientCalls makes m observe the calls this process makes (a
// mount: its metadata and data operations as the services see them).
// Methods are labelled service.method (Meta.Lookup, Data.Read).
func ObserveClientCalls(m *CallMetrics) { clientCalls.Store(m) }

func observeClientCall(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	m := clientCalls.Load()
	if m == nil {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	label := strings.Replace(strings.TrimPrefix(method, "/lis."), "/", ".", 1)
	m.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	m.calls.WithLabelValues(label, status.Code(err).String()).Inc()
	return err
}
