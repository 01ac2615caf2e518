package msgrpc_test

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// TestRawGarbageOnTheSocket writes bytes that are not HTTP/2 to the
// server's socket: the server must drop that connection and keep serving.
func TestRawGarbageOnTheSocket(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	random := make([]byte, 64<<10)
	rnd.Read(random)
	cases := map[string][]byte{
		"random bytes":     random,
		"http/1.1 request": []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"preface then garbage frame": append([]byte(http2Preface),
			0xff, 0xff, 0xff, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 'x', 'y'),
		"preface then oversized settings frame": append([]byte(http2Preface),
			0x7f, 0xff, 0xff, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00),
		"preface then data on stream 0": append([]byte(http2Preface),
			0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // empty SETTINGS
			0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd'),
	}
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		for name, garbage := range cases {
			t.Run(name, func(t *testing.T) {
				raw := rawDial(t, s.addr)
				_, err := raw.Write(garbage)
				if err != nil {
					// The server may already have hung up mid-write.
					require.True(t, isConnDrop(err), "write: %v", err)
				}
				// The server must close the connection by itself; the read
				// deadline only keeps a broken server from hanging the test.
				require.NoError(t, raw.SetReadDeadline(time.Now().Add(20*time.Second)))
				_, err = io.Copy(io.Discard, raw)
				require.True(t, err == nil || isConnDrop(err), "server did not drop the connection: %v", err)

				got, err := echo(callCtx(t), conn, &echoMsg{ID: 42})
				require.NoError(t, err)
				require.EqualValues(t, 42, got.ID)
			})
		}
		t.Run("half a preface then hang up", func(t *testing.T) {
			raw := rawDial(t, s.addr)
			_, err := raw.Write([]byte(http2Preface[:7]))
			require.NoError(t, err)
			require.NoError(t, raw.Close())
			_, err = echo(callCtx(t), conn, &echoMsg{ID: 43})
			require.NoError(t, err)
		})
	})
}

func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	c, err := net.Dial(network, addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func isConnDrop(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

// rawCodec sends a request's bytes as they are, so a test can put any
// payload in a well-formed gRPC frame.
type rawCodec struct{}

func (rawCodec) Name() string { return "msgpack" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// TestMalformedMessages sends well-formed gRPC frames whose msgpack payload
// is garbage: each call must fail with a decode error and the server must
// serve the next call on the same connection.
func TestMalformedMessages(t *testing.T) {
	cases := map[string][]byte{
		"empty":                  {},
		"never-used code 0xc1":   {0xc1},
		"truncated map":          {0x83, 0xa2, 'i', 'd'},
		"string for a struct":    {0xa3, 'a', 'b', 'c'},
		"bin32 of 4 GiB":         {0x81, 0xa7, 'p', 'a', 'y', 'l', 'o', 'a', 'd', 0xc6, 0xff, 0xff, 0xff, 0xff},
		"array32 of 4G entries":  {0x81, 0xa7, 'e', 'n', 't', 'r', 'i', 'e', 's', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"map32 of 4G xattrs":     {0x81, 0xa6, 'x', 'a', 't', 't', 'r', 's', 0xdf, 0xff, 0xff, 0xff, 0xff},
		"str32 name of 4 GiB":    {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xdb, 0xff, 0xff, 0xff, 0xff},
		"as_array with 2 fields": {0x81, 0xa3, 'p', 't', 'r', 0x92, 0x01, 0xa1, 'a'},
		"trailing bytes":         {0x80, 0x00},
		"extension value":        {0x81, 0xa2, 'i', 'd', 0xd6, 0xff, 0, 0, 0, 0},
		"nested too deep":        deepArrays(msgrpc.MaxDecodeDepth + 1),
		"string for an integer":  {0x81, 0xa2, 'i', 'd', 0xa1, 'x'},
	}
	transports(t, func(t *testing.T, s *server) {
		conn := dial(t, s.addr)
		for name, payload := range cases {
			t.Run(name, func(t *testing.T) {
				var resp []byte
				err := conn.Invoke(callCtx(t), "/"+testService+"/Echo", &payload, &resp, grpc.ForceCodecV2(rawCodec{}))
				st, ok := status.FromError(err)
				require.True(t, ok, "error %v", err)
				require.NotEqual(t, codes.OK, st.Code())
				require.NotEqual(t, codes.Unavailable, st.Code(), "the server dropped the connection: %v", err)
				require.Contains(t, st.Message(), "unmarshalling request")

				got, err := echo(callCtx(t), conn, &echoMsg{Name: name})
				require.NoError(t, err)
				require.Equal(t, name, got.Name)
			})
		}
	})
}

// errnoReq has a field msgpack/v5 has no decoder for (uintptr kind): the
// library panics while decoding it, which must become an error response.
type errnoReq struct{ E syscall.Errno }

func TestDecoderPanicIsAnError(t *testing.T) {
	s := startServer(t, "unix:"+filepath.Join(t.TempDir(), "s.sock"))
	l, err := msgrpc.Listen("unix:" + filepath.Join(t.TempDir(), "p.sock"))
	require.NoError(t, err)
	srv := grpc.NewServer(msgrpc.ServerOptions(nil)...)
	srv.RegisterService(msgrpc.ServiceDesc("lis.test.Panic",
		msgrpc.Method("Errno", func(_ context.Context, _ *errnoReq) (*empty, error) { return &empty{}, nil }),
	), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() { srv.Stop(); <-done }()

	conn := dial(t, "unix:"+l.Addr().String())
	payload := []byte{0x81, 0xa1, 'E', 0x02}
	var resp []byte
	err = conn.Invoke(callCtx(t), "/lis.test.Panic/Errno", &payload, &resp, grpc.ForceCodecV2(rawCodec{}))
	require.Error(t, err)
	require.Contains(t, status.Convert(err).Message(), "decoder panicked")
	// The process survived; both servers still answer.
	err = conn.Invoke(callCtx(t), "/lis.test.Panic/Errno", &[]byte{0x80}, &resp, grpc.ForceCodecV2(rawCodec{}))
	require.NoError(t, err)
	_, err = echo(callCtx(t), dial(t, s.addr), &echoMsg{})
	require.NoError(t, err)
}

// deepArrays is n nested one-element arrays around a nil.
func deepArrays(n int) []byte {
	b := make([]byte, 0, n+1)
	for range n {
		b = append(b, 0x91)
	}
	return append(b, 0xc0)
}
