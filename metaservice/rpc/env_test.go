package rpc

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/registry"
)

// env is a metaservice served over a real socket, and a client of it.
// Everything it starts is stopped by the test's cleanups.
type env struct {
	eng     kv.Engine
	svc     *ms.Service
	srv     *Server
	network string // "unix" or "tcp"
	addr    string // "unix:/path" or "127.0.0.1:port"
	client  *Client
	ds      *dspool.Fake // the dataservers "ds1" and "ds2" the service reaches
}

// transports runs f once over a unix socket and once over loopback TCP.
func transports(t *testing.T, f func(t *testing.T, e *env)) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) { f(t, startEnv(t, "memory:", network)) })
	}
}

// startEnv opens the engine at url, a Service on it, and serves it on a
// fresh unix socket or loopback TCP port.
func startEnv(t testing.TB, url, network string) *env {
	t.Helper()
	ctx := context.Background()
	eng, err := kv.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	return serveEngine(t, eng, network)
}

func serveEngine(t testing.TB, eng kv.Engine, network string) *env {
	t.Helper()
	ds := dspool.NewFake()
	svc, err := ms.Open(context.Background(), eng, ms.Options{Dataservers: ds, ReclaimInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	for _, id := range []string{"ds1", "ds2"} {
		require.NoError(t, svc.DataserverHeartbeat(context.Background(), registry.Heartbeat{ID: id, Addr: "fake:" + id}))
	}
	e := &env{eng: eng, svc: svc, network: network, ds: ds}
	e.srv, e.addr = serve(t, svc, network)
	e.client = dial(t, e.addr)
	return e
}

// serve serves meta on a new listener of network; the Server is stopped
// at cleanup.
func serve(t testing.TB, meta Meta, network string) (*Server, string) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = "unix:" + sockPath(t)
	}
	l, err := msgrpc.Listen(addr)
	require.NoError(t, err)
	if network == "tcp" {
		addr = l.Addr().String()
	}
	srv := NewServer(meta, Options{StopTimeout: 5 * time.Second, Logger: quiet})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Stop()
		require.NoError(t, <-done)
	})
	return srv, addr
}

// sockPath is a unix socket path short enough for sun_path (108 bytes),
// which t.TempDir() under a long test name may not be.
func sockPath(t testing.TB) string {
	dir, err := os.MkdirTemp("", "lisrpc")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "m.sock")
}

func dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(addr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawDial opens a plain socket to addr.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	network, a := "tcp", addr
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, a = "unix", p
	}
	c, err := net.Dial(network, a)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// callCtx bounds one call, so that a broken server fails the test instead
// of hanging it.
func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	quiet = slog.New(slog.DiscardHandler)
	root  = ms.Root
	alice = &ms.Cred{Uid: 1000, Gid: 1000, Groups: []uint32{1000, 27}, Pid: 4242}
)
