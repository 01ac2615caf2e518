package msgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// The test service: Echo returns its request, Fail returns the error the
// request describes, Block waits until the call's context ends.
const testService = "lis.test.Echo"

// inner and echoMsg exercise what real messages carry: nested structs in
// both msgpack struct layouts, slices of them, maps, []byte and strings.
type inner struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino  uint64
	Name string
	Data []byte
}

type echoMsg struct {
	ID      uint64            `msgpack:"id"`
	Name    string            `msgpack:"name"`
	Payload []byte            `msgpack:"payload"`
	Entries []inner           `msgpack:"entries"`
	Xattrs  map[string][]byte `msgpack:"xattrs"`
	Groups  [][]uint32        `msgpack:"groups"`
	Neg     int64             `msgpack:"neg"`
	Flag    bool              `msgpack:"flag"`
	Ptr     *inner            `msgpack:"ptr"`
}

type failReq struct {
	// Errno is a uint32 because msgpack/v5 cannot encode uintptr kinds
	// (a syscall.Errno field makes Marshal panic).
	Errno uint32
	Msg   string
	// Status, when set, makes the handler return a gRPC status with this
	// code instead of an errno error.
	Status codes.Code
}

type empty struct{}

func testDesc() *grpc.ServiceDesc {
	return msgrpc.ServiceDesc(testService,
		msgrpc.Method("Echo", func(_ context.Context, req *echoMsg) (*echoMsg, error) {
			return req, nil
		}),
		msgrpc.Method("Fail", func(_ context.Context, req *failReq) (*empty, error) {
			switch {
			case req.Status != codes.OK:
				return nil, status.Error(req.Status, req.Msg)
			case req.Errno != 0:
				return nil, fmt.Errorf("%s: %w", req.Msg, syscall.Errno(req.Errno))
			}
			return nil, errors.New(req.Msg)
		}),
		msgrpc.Method("Block", func(ctx context.Context, _ *empty) (*empty, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}),
	)
}

// server is a running test server; stop it with Stop (also registered as
// a test cleanup, so every goroutine it owns ends with the test).
type server struct {
	addr string
	srv  *grpc.Server
	done chan error // receives Serve's result
	once sync.Once
}

// Stop closes the listener and every connection, and waits for Serve to
// return. It may be called more than once.
func (s *server) Stop() {
	s.once.Do(func() {
		s.srv.Stop()
		<-s.done
	})
}

// startServer serves the test service on addr ("unix:/path" or
// "host:port"). For TCP the returned server's addr has the real port.
func startServer(t *testing.T, addr string) *server {
	t.Helper()
	l, err := msgrpc.Listen(addr)
	require.NoError(t, err)
	if l.Addr().Network() == "tcp" {
		addr = l.Addr().String()
	}
	s := &server{addr: addr, srv: grpc.NewServer(msgrpc.ServerOptions(nil)...), done: make(chan error, 1)}
	s.srv.RegisterService(testDesc(), nil)
	go func() { s.done <- s.srv.Serve(l) }()
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := msgrpc.Dial(addr, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// callCtx bounds a call so that a hung server fails the test instead of
// hanging it; no test depends on how long a call takes.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func echo(ctx context.Context, conn grpc.ClientConnInterface, m *echoMsg) (*echoMsg, error) {
	return msgrpc.Invoke[echoMsg, echoMsg](ctx, conn, testService, "Echo", m)
}

// transports runs f against a server on a unix socket and on loopback TCP.
func transports(t *testing.T, f func(t *testing.T, s *server)) {
	t.Run("unix", func(t *testing.T) {
		f(t, startServer(t, "unix:"+filepath.Join(t.TempDir(), "s.sock")))
	})
	t.Run("tcp", func(t *testing.T) {
		f(t, startServer(t, "127.0.0.1:0"))
	})
}

func TestEchoRoundTrip(t *testing.T) {
	msgs := map[string]*echoMsg{
		"zero": {},
		"full": {
			ID:      1<<63 + 5,
			Name:    "naïve/файл\x00",
			Payload: []byte{0, 1, 2, 0xff, 0xc1},
			Entries: []inner{{Ino: 7, Name: "a", Data: []byte("x")}, {Ino: 8}},
			Xattrs:  map[string][]byte{"user.a": []byte("1"), "user.empty": {}},
			Groups:  [][]uint32{{1, 2}, {}, nil},
			Neg:     -1 << 40,
			Flag:    true,
			Ptr:     &inner{Ino: 9, Name: "p", Data: []byte{}},
		},
		"empty-not-nil": {Payload: []byte{}, Entries: []inner{}, Xattrs: map[string][]byte{}},
		"1MiB-payload":  {Payload: make([]byte, 1<<20)},
	}
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		for name, m := range msgs {
			t.Run(name, func(t *testing.T) {
				got, err := echo(callCtx(t), conn, m)
				require.NoError(t, err)
				require.Equal(t, m, got)
			})
		}
	})
}

func TestErrnoCrossesTheWire(t *testing.T) {
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.EEXIST, syscall.ENOTEMPTY, syscall.EINVAL, syscall.ENOSPC, syscall.EACCES, syscall.ESTALE} {
			t.Run(errno.Error(), func(t *testing.T) {
				_, err := msgrpc.Invoke[failReq, empty](callCtx(t), conn, testService, "Fail", &failReq{Errno: uint32(errno), Msg: "x"})
				require.Error(t, err)
				require.ErrorIs(t, err, errno)
				require.Equal(t, "Fail: x: "+errno.Error(), err.Error())
				var rerr *msgrpc.Error
				require.ErrorAs(t, err, &rerr)
				require.Equal(t, errno, rerr.Errno)
				require.Equal(t, codes.Code(msgrpc.ErrnoCodeBase+uint32(errno)), rerr.Code)
			})
		}
		t.Run("plain error has no errno", func(t *testing.T) {
			_, err := msgrpc.Invoke[failReq, empty](callCtx(t), conn, testService, "Fail", &failReq{Msg: "boom"})
			var rerr *msgrpc.Error
			require.ErrorAs(t, err, &rerr)
			require.Equal(t, codes.Internal, rerr.Code)
			require.Zero(t, rerr.Errno)
			require.Equal(t, "Fail: boom", err.Error())
			require.NotErrorIs(t, err, syscall.ENOENT)
		})
		t.Run("status error passes through", func(t *testing.T) {
			_, err := msgrpc.Invoke[failReq, empty](callCtx(t), conn, testService, "Fail", &failReq{Status: codes.FailedPrecondition, Msg: "fp"})
			var rerr *msgrpc.Error
			require.ErrorAs(t, err, &rerr)
			require.Equal(t, codes.FailedPrecondition, rerr.Code)
			require.Zero(t, rerr.Errno)
		})
		t.Run("unknown method", func(t *testing.T) {
			_, err := msgrpc.Invoke[empty, empty](callCtx(t), conn, testService, "Nope", &empty{})
			var rerr *msgrpc.Error
			require.ErrorAs(t, err, &rerr)
			require.Equal(t, codes.Unimplemented, rerr.Code)
		})
	})
}

func TestDeadlineBecomesETIMEDOUT(t *testing.T) {
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		require.NoError(t, msgrpc.WaitReady(callCtx(t), conn))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := msgrpc.Invoke[empty, empty](ctx, conn, testService, "Block", &empty{})
		require.ErrorIs(t, err, syscall.ETIMEDOUT)
		// The connection survives a timed-out call.
		_, err = echo(callCtx(t), conn, &echoMsg{ID: 1})
		require.NoError(t, err)
	})
}

func TestDeadServerIsENOTCONN(t *testing.T) {
	t.Run("unix socket never served", func(t *testing.T) {
		conn := dial(t, "unix:"+filepath.Join(t.TempDir(), "none.sock"))
		_, err := echo(callCtx(t), conn, &echoMsg{})
		require.ErrorIs(t, err, syscall.ENOTCONN)
	})
	t.Run("tcp port closed", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		conn := dial(t, addr)
		_, err = echo(callCtx(t), conn, &echoMsg{})
		require.ErrorIs(t, err, syscall.ENOTCONN)
	})
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		_, err := echo(callCtx(t), conn, &echoMsg{ID: 1})
		require.NoError(t, err)
		s.Stop()
		_, err = echo(callCtx(t), conn, &echoMsg{ID: 2})
		require.ErrorIs(t, err, syscall.ENOTCONN)
		var rerr *msgrpc.Error
		require.ErrorAs(t, err, &rerr)
		require.Equal(t, codes.Unavailable, rerr.Code)
	})
}

func TestOversizedRequest(t *testing.T) {
	s := startServer(t, "unix:"+filepath.Join(t.TempDir(), "s.sock"))
	conn := dial(t, s.addr)
	big := &echoMsg{Payload: make([]byte, msgrpc.MaxMessage)}

	t.Run("refused by the client", func(t *testing.T) {
		_, err := echo(callCtx(t), conn, big)
		var rerr *msgrpc.Error
		require.ErrorAs(t, err, &rerr)
		require.Equal(t, codes.ResourceExhausted, rerr.Code)
		require.ErrorIs(t, err, syscall.E2BIG)
	})
	t.Run("refused by the server", func(t *testing.T) {
		// A client that does not honour the limit: the server must refuse
		// the message itself and stay up.
		var resp echoMsg
		err := conn.Invoke(callCtx(t), "/"+testService+"/Echo", big, &resp,
			grpc.MaxCallSendMsgSize(2*msgrpc.MaxMessage))
		st, ok := status.FromError(err)
		require.True(t, ok, "error %v", err)
		require.Equal(t, codes.ResourceExhausted, st.Code(), "error %v", err)
		require.Contains(t, st.Message(), "received message larger than max")
	})
	t.Run("server still serves", func(t *testing.T) {
		got, err := echo(callCtx(t), conn, &echoMsg{ID: 3})
		require.NoError(t, err)
		require.EqualValues(t, 3, got.ID)
	})
}
