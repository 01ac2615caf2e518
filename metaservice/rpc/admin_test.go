package rpc

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

func TestShardsAndFsck(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c, svc := callCtx(t), e.client, e.svc
		d, err := c.Mkdir(ctx, root, ms.RootIno, "site", ms.NewNode{Mode: 0755})
		require.NoError(t, err)
		_, err = c.CreateShard(ctx, alice, d.Ino, "/site")
		requireErrno(t, err, syscall.EPERM)
		rec, err := c.CreateShard(ctx, root, d.Ino, "/site")
		require.NoError(t, err)
		require.NotZero(t, rec.ID)
		require.NoError(t, c.SetShardSite(ctx, rec.ID, "perth"))
		requireErrno(t, c.SetShardSite(ctx, 999, "perth"), syscall.ENOENT)

		shards, err := c.ListShards(ctx)
		require.NoError(t, err)
		want, err := svc.ListShards(ctx)
		require.NoError(t, err)
		require.Equal(t, want, shards)
		require.Len(t, shards, 2)
		require.Equal(t, "perth", shards[1].Site)

		moved, err := c.Lookup(ctx, root, ms.RootIno, "site")
		require.NoError(t, err)
		inner, err := c.Mkdir(ctx, root, moved.Ino, "sub", ms.NewNode{Mode: 0755})
		require.NoError(t, err)
		require.Equal(t, rec.ID, inner.Ino.Shard(), "born in the new shard")

		// The memory engine has no regions: a plain error, not an errno.
		_, err = c.PlacementRules(ctx, "lis", "zone", 3)
		var re *msgrpc.Error
		require.True(t, errors.As(err, &re))
		require.Equal(t, codes.Internal, re.Code)
		require.Contains(t, re.Msg, "no regions")

		rep, err := c.Fsck(ctx)
		require.NoError(t, err)
		require.Empty(t, rep.Violations)
		require.Equal(t, 3, rep.Dirs)
	})
}

// panickyMeta panics in GetAttr, as a core bug would.
type panickyMeta struct{ Meta }

func (panickyMeta) GetAttr(context.Context, ms.Ino) (*ms.Attr, error) { panic("core bug") }

// TestHandlerPanicIsAnError: a panic in the core fails that call with
// Internal and leaves the server serving (and proves invokeAll's check
// can fail).
func TestHandlerPanicIsAnError(t *testing.T) {
	e := startEnv(t, "memory:", "unix")
	_, addr := serve(t, panickyMeta{e.svc}, "unix")
	c := dial(t, addr)
	_, err := c.GetAttr(callCtx(t), ms.RootIno)
	var re *msgrpc.Error
	require.True(t, errors.As(err, &re))
	require.Equal(t, codes.Internal, re.Code)
	require.Contains(t, re.Msg, "panic")
	_, err = c.Lookup(callCtx(t), root, ms.RootIno, ".")
	require.NoError(t, err)
}

// TestServeAddrs serves a unix socket and a TCP port at once, and stops
// when its context ends.
func TestServeAddrs(t *testing.T) {
	e := startEnv(t, "memory:", "unix")
	sock := sockPath(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tcp := l.Addr().String()
	require.NoError(t, l.Close())

	srv := NewServer(e.svc, Options{Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeAddrs(ctx, "unix:"+sock, tcp) }()
	for _, addr := range []string{"unix:" + sock, tcp} {
		c := dial(t, addr)
		require.NoError(t, msgrpc.WaitReady(callCtx(t), c.owned))
		_, err := c.Mkdir(callCtx(t), root, ms.RootIno, strings.NewReplacer(":", "_", "/", "_").Replace(addr), ms.NewNode{Mode: 0755})
		require.NoError(t, err)
	}
	cancel()
	require.NoError(t, <-done)
	_, err = os.Stat(sock)
	require.ErrorIs(t, err, os.ErrNotExist, "the socket file is removed at stop")

	// One address that cannot be listened on: nothing is served.
	srv = NewServer(e.svc, Options{Logger: quiet})
	err = srv.ServeAddrs(context.Background(), "unix:"+sockPath(t), "unix:/nonexistent/dir/m.sock")
	require.Error(t, err)
}
