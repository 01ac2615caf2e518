package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// MaxMessage is the largest request or response accepted. Data RPCs carry
// at most a few MiB; anything larger is refused with ResourceExhausted
// before it is decoded.
const MaxMessage = 80 << 20

// Flow-control windows. A replication stream between sites 250 ms apart
// at 1 Gbit/s needs about 30 MiB in flight, and gRPC stops estimating the
// pipe once a window is set, so the windows are set for such a pipe: they
// are credit given to the sender, not buffers allocated ahead.
const (
	streamWindow = 64 << 20
	connWindow   = 128 << 20
)

// ServerOptions returns the grpc.ServerOptions every Lis server uses. creds
// secure its TCP connections (unix sockets stay plaintext: see
// security.go); nil serves plaintext everywhere, which is for loopback.
func ServerOptions(creds credentials.TransportCredentials) []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(codecV2{}),
		grpc.MaxRecvMsgSize(MaxMessage),
		grpc.MaxSendMsgSize(MaxMessage),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.ReadBufferSize(256 << 10),
		grpc.WriteBufferSize(256 << 10),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(serverCreds(creds)))
	}
	return opts
}

// socketMode is the mode of the unix socket files Lis serves on: they are
// plaintext and unauthenticated, so only their owner and group may
// connect.
const socketMode = 0o660

// Listen opens a listener for addr ("unix:/path" or "host:port"). A stale
// unix socket file left by a dead process is removed first; a live one
// (something accepts on it) is an error. A new socket file gets mode 0660.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process is serving on it", addr)
		}
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("listen %s: %s exists and is not a socket", addr, path)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("listen %s: remove stale socket: %w", addr, err)
			}
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		if err := os.Chmod(path, socketMode); err != nil {
			l.Close()
			return nil, fmt.Errorf("listen %s: keep other users out: %w", addr, err)
		}
		return l, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return l, nil
}

// Dial connects to addr ("unix:/path" or "host:port"). The connection is
// lazy: a dead peer shows up as an Unavailable error (ENOTCONN) on the first
// call. creds secure a TCP connection; nil is plaintext (loopback), and a
// unix socket is always plaintext (see security.go).
func Dial(addr string, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	creds = dialCreds(addr, creds)
	target, retry := addr, time.Second
	if !strings.HasPrefix(addr, "unix:") {
		target, retry = "passthrough:///"+addr, 5*time.Second
	}
	// A peer that went away is dialled again at most retry apart (gRPC's
	// default grows to two minutes): a co-located dataserver that restarts
	// is back for its client within a second, a remote one within five.
	bo := backoff.DefaultConfig
	bo.MaxDelay = retry
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 20 * time.Second}),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(codecV2{}),
			grpc.MaxCallRecvMsgSize(MaxMessage),
			grpc.MaxCallSendMsgSize(MaxMessage),
		),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		grpc.WithReadBufferSize(256<<10),
		grpc.WithWriteBufferSize(256<<10),
		grpc.WithChainUnaryInterceptor(observeClientCall),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// WaitReady blocks until conn is connected or ctx ends.
func WaitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s.String() == "READY" {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("connect %s: %w (state %s)", conn.Target(), ctx.Err(), s)
		}
	}
}
