package rpc

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// stillServing fails the test unless e's server answers a normal call.
func stillServing(t *testing.T, e *env, c *Client) {
	t.Helper()
	a, err := c.GetAttr(callCtx(t), ms.RootIno)
	require.NoError(t, err, "the server stopped serving")
	require.Equal(t, ms.RootIno, a.Ino)
}

func TestRawGarbageOnTheSocket(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	random := make([]byte, 32<<10)
	rnd.Read(random)
	cases := map[string][]byte{
		"random bytes":  random,
		"http/1.1":      []byte("POST /lis.Meta/GetAttr HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
		"preface+noise": append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), random[:1024]...),
	}
	transports(t, func(t *testing.T, e *env) {
		for name, garbage := range cases {
			t.Run(name, func(t *testing.T) {
				raw := rawDial(t, e.addr)
				raw.Write(garbage) // the server may hang up mid-write
				// The server must hang up by itself; the deadline only keeps
				// a broken server from hanging the test.
				require.NoError(t, raw.SetReadDeadline(time.Now().Add(20*time.Second)))
				_, err := io.Copy(io.Discard, raw)
				require.False(t, isTimeout(err), "the server kept a garbage connection open")
				stillServing(t, e, e.client)
			})
		}
	})
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return err != nil && errors.As(err, &te) && te.Timeout()
}

// rawCodec sends the request bytes as they are, to put any payload in a
// well-formed gRPC call.
type rawCodec struct{}

func (rawCodec) Name() string { return "msgpack" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func rawCall(ctx context.Context, e *env, method string, payload []byte) error {
	conn, err := msgrpc.Dial(e.addr, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	var resp []byte
	return conn.Invoke(ctx, "/"+ServiceName+"/"+method, &payload, &resp, grpc.ForceCodecV2(rawCodec{}))
}

// TestGarbageRequests sends well-formed gRPC calls whose msgpack body is
// garbage, or of the wrong shape, to several methods: each must fail with
// an error and the server must go on serving.
func TestGarbageRequests(t *testing.T) {
	payloads := map[string][]byte{
		"empty":                   {},
		"never-used code":         {0xc1},
		"map for an array struct": {0x81, 0xa3, 'I', 'n', 'o', 0x01},
		"array of wrong length":   {0x92, 0x01, 0x02},
		"string for a struct":     {0xa3, 'a', 'b', 'c'},
		"bin32 of 4 GiB":          {0x93, 0x90, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"array32 of 4G":           {0xdd, 0xff, 0xff, 0xff, 0xff},
		"deep nesting":            []byte(strings.Repeat("\x91", 200) + "\xc0"),
		"trailing bytes":          {0x91, 0x01, 0x00},
		"extension":               {0x91, 0xd6, 0xff, 0, 0, 0, 0},
		"negative for uint":       {0x93, 0x93, 0xff, 0xff, 0x90, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xa1, 'x'},
	}
	e := startEnv(t, "memory:", "unix")
	for _, method := range []string{"Lookup", "GetAttr", "Create", "SetLk", "ReadDir", "CommitWrite", "AckDeletions", "Fsck"} {
		for name, p := range payloads {
			t.Run(method+"/"+name, func(t *testing.T) {
				err := rawCall(callCtx(t), e, method, p)
				if err == nil {
					// A few payloads are valid for a method (an array of
					// one int is a fine GetAttr); those must just not harm.
					stillServing(t, e, e.client)
					return
				}
				st := status.Convert(err)
				require.NotEqual(t, codes.Unavailable, st.Code(), "connection dropped: %v", err)
				require.NotContains(t, st.Message(), "panic")
				stillServing(t, e, e.client)
			})
		}
	}
	t.Run("unknown method", func(t *testing.T) {
		err := rawCall(callCtx(t), e, "Format", []byte{0x90})
		require.Equal(t, codes.Unimplemented, status.Code(err))
		stillServing(t, e, e.client)
	})
}

// TestOversizedRequest: a request over the metaservice's limit is refused
// before it is decoded, with E2BIG at the caller.
func TestOversizedRequest(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx := callCtx(t)
		f, err := e.client.Create(ctx, root, ms.RootIno, "f", ms.NewNode{Mode: 0644}, 0)
		require.NoError(t, err)
		err = e.client.SetXattr(ctx, root, f.Ino, "user.big", make([]byte, DefaultMaxRequest+1), 0)
		requireErrno(t, err, syscall.E2BIG)
		var re *msgrpc.Error
		require.True(t, errors.As(err, &re))
		require.Equal(t, codes.ResourceExhausted, re.Code)
		_, err = e.client.Lookup(ctx, root, ms.RootIno, strings.Repeat("x", DefaultMaxRequest))
		requireErrno(t, err, syscall.E2BIG)
		stillServing(t, e, e.client)
	})
}
