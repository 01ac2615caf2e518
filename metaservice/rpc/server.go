package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// ServiceName is the gRPC service the metaservice registers.
const ServiceName = "lis.Meta"

// Options configure a Server.
type Options struct {
	// Creds secure the transport; nil serves plaintext, which is for unix
	// sockets and loopback only.
	Creds credentials.TransportCredentials
	// MaxRequest is the largest request message accepted, in bytes;
	// 0 means DefaultMaxRequest. Larger requests fail with E2BIG at the
	// caller and are never decoded.
	MaxRequest int
	// StopTimeout is how long Stop waits for calls in flight before it
	// cuts connections; 0 means 10 s.
	StopTimeout time.Duration
	// Logger receives the server's structured logs.
	Logger *slog.Logger
	// Registerer, if set, exports per-method call counts and latencies
	// (lis_metaservice_requests_total, _request_duration_seconds).
	Registerer prometheus.Registerer
}

// Server serves a Meta (normally a *metaservice.Service) as lis.Meta.
// One Server may serve several listeners at once; Stop ends them all. A
// stopped Server cannot serve again.
type Server struct {
	meta Meta
	opts Options
	log  *slog.Logger
	grpc *grpc.Server

	// stopping is cancelled by Stop, so that blocking lock waits, which
	// could otherwise outlast any grace period, end at once with EINTR.
	stopping context.Context
	stop     context.CancelFunc
}

// NewServer returns a Server for meta. It does not listen yet: call Serve
// or ServeAddrs.
func NewServer(meta Meta, opts Options) *Server {
	if opts.MaxRequest <= 0 {
		opts.MaxRequest = DefaultMaxRequest
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{meta: meta, opts: opts, log: opts.Logger}
	s.stopping, s.stop = context.WithCancel(context.Background())
	gopts := append(msgrpc.ServerOptions(opts.Creds),
		// Later options override earlier ones: the metaservice accepts
		// far smaller requests than msgrpc's data-sized default.
		grpc.MaxRecvMsgSize(opts.MaxRequest),
		// Long-lived workers run the calls: a fresh goroutine per call
		// would grow its stack anew, by copying, down every KV engine call
		// path (a quarter of the CPU time of a stat). When every worker is
		// busy (e.g. in lock waits) gRPC falls back to a new goroutine.
		grpc.NumStreamWorkers(uint32(4*runtime.GOMAXPROCS(0))),
	)
	calls, err := msgrpc.NewCallMetrics(opts.Registerer, "lis_metaservice")
	if err != nil {
		s.log.Warn("metaservice: call metrics not exported", "err", err)
	}
	s.grpc = grpc.NewServer(append(gopts, calls.ServerOptions()...)...)
	s.grpc.RegisterService(s.serviceDesc(), nil)
	return s
}

// Serve accepts connections on l until Stop, which makes it return nil.
// It closes l before returning.
func (s *Server) Serve(l net.Listener) error {
	s.log.Info("metaservice serving", "network", l.Addr().Network(), "addr", l.Addr().String())
	if err := s.grpc.Serve(l); err != nil {
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	}
	return nil
}

// ServeAddrs listens on every address ("unix:/path" or "host:port") and
// serves them all until ctx ends or one of them fails. It returns nil
// after a shutdown through ctx, or the first failure; if one address
// cannot be listened on, none is served. The Server is stopped when it
// returns, in every case.
func (s *Server) ServeAddrs(ctx context.Context, addrs ...string) error {
	if len(addrs) == 0 {
		s.Stop()
		return errors.New("metaservice: no address to serve on")
	}
	var ls []net.Listener
	for _, a := range addrs {
		l, err := msgrpc.Listen(a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			s.Stop()
			return err
		}
		ls = append(ls, l)
	}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() { errc <- s.Serve(l) }()
	}
	var err error
	pending := len(ls)
	select {
	case <-ctx.Done():
	case err = <-errc:
		pending--
	}
	s.Stop()
	for ; pending > 0; pending-- {
		if e := <-errc; err == nil {
			err = e
		}
	}
	return err
}

// Stop ends blocking lock waits (they fail with EINTR), stops accepting,
// and waits up to Options.StopTimeout for the calls in flight before it
// closes every connection. Safe to call more than once.
func (s *Server) Stop() {
	s.stop()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("metaservice: calls still running at shutdown; closing connections", "waited", s.opts.StopTimeout)
		s.grpc.Stop()
		<-done
	}
}

// longCall derives the context of a call that may block for long (a lock
// wait): it also ends when the Server stops.
func (s *Server) longCall(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.stopping, cancel)
	return ctx, func() { unhook(); cancel() }
}

// method declares one lis.Meta method: it validates the request (see
// checker), runs h, and turns a panic into an Internal error instead of a
// dead metaservice.
func method[Req, Resp any](s *Server, name string, h func(ctx context.Context, req *Req) (*Resp, error)) grpc.MethodDesc {
	return msgrpc.Method(name, func(ctx context.Context, req *Req) (resp *Resp, err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("metaservice: handler panicked", "method", name, "panic", p, "stack", string(debug.Stack()))
				resp, err = nil, status.Errorf(codes.Internal, "%s: internal error (panic: %v)", name, p)
			}
		}()
		if c, ok := any(req).(checker); ok {
			if err := c.check(); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		hctx, own := collectOwnChanges(callerFromHeader(ctx))
		resp, err = h(hctx, req)
		sendOwnChanges(ctx, own)
		if err != nil && !hasErrno(err) && ctx.Err() == nil {
			s.log.Warn("metaservice call failed", "method", name, "err", err)
		}
		return resp, err
	})
}

func hasErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}
