package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lis-fs/lis/fs/volume"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// serveDebug serves Prometheus metrics (/metrics) and Go profiles
// (/debug/pprof/) on addr, which must be a loopback address: nothing of
// Lis listens unauthenticated beyond the host.
func serveDebug(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--debug-addr %q: only loopback addresses are allowed", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	// The mount's metadata and data calls, as their services saw them.
	calls, err := msgrpc.NewCallMetrics(prometheus.DefaultRegisterer, "lis_mount")
	if err != nil {
		return err
	}
	msgrpc.ObserveClientCalls(calls)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		if err := http.Serve(l, mux); err != nil {
			slog.Warn("debug server stopped", "err", err)
		}
	}()
	return nil
}

// registerVolumeMetrics adds the volume's own metrics (an embedded
// volume's metaservice) to those serveDebug serves. A failure is logged:
// the volume serves without them.
func registerVolumeMetrics(v *volume.Volume) {
	for _, c := range v.Collectors() {
		if err := prometheus.Register(c); err != nil {
			slog.Warn("the volume's metrics are not served", "err", err)
		}
	}
}
