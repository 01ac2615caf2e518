package rpc

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/registry"
)

// TestHeartbeatOverTLS: one server on TCP with TLS and on a unix socket.
// Over TLS only the dataserver certificate naming an ID may heartbeat for
// it; the unix socket keeps the plaintext rules.
func TestHeartbeatOverTLS(t *testing.T) {
	ctx := context.Background()
	eng, err := kv.Open(ctx, "memory:")
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	svc, err := ms.Open(ctx, eng, ms.Options{Dataservers: dspool.NewFake(), ReclaimInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })

	ca := filepath.Join(t.TempDir(), "ca")
	require.NoError(t, clustertls.InitCA(ca))
	node := func(name, role string) *clustertls.Identity {
		dir, err := clustertls.Issue(ca, name, []string{role}, nil, nil, time.Hour)
		require.NoError(t, err)
		id, err := clustertls.Load(dir)
		require.NoError(t, err)
		return id
	}
	srv := NewServer(svc, Options{Creds: node("meta", clustertls.RoleMetaservice).ServerCreds(quiet), Logger: quiet, StopTimeout: 5 * time.Second})
	t.Cleanup(srv.Stop)
	var tcp string
	unix := "unix:" + sockPath(t)
	for _, addr := range []string{"127.0.0.1:0", unix} {
		l, err := msgrpc.Listen(addr)
		require.NoError(t, err)
		if l.Addr().Network() == "tcp" {
			tcp = l.Addr().String()
		}
		go srv.Serve(l)
	}

	beat := func(addr string, as *clustertls.Identity, id, dsAddr string) error {
		var c *Client
		if as != nil {
			c, err = Dial(addr, as.ClientCreds())
		} else {
			c, err = Dial(addr, nil)
		}
		require.NoError(t, err)
		defer c.Close()
		return c.DataserverHeartbeat(ctx, registry.Heartbeat{ID: id, Addr: dsAddr})
	}
	perth := node("perth-1", clustertls.RoleDataserver)
	require.NoError(t, beat(tcp, perth, "perth-1", "127.0.0.1:7301"))
	err = beat(tcp, perth, "london-1", "127.0.0.1:7302")
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, `it heartbeats as dataserver "london-1", and its certificate may speak for "perth-1" only`)
	err = beat(tcp, node("laptop", clustertls.RoleClient), "laptop", "127.0.0.1:7303")
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, "only a dataserver certificate")
	require.NoError(t, beat(unix, nil, "nyc-1", "127.0.0.1:7304"), "plaintext over the unix socket")

	list, err := svc.ListDataservers(ctx)
	require.NoError(t, err)
	var ids []string
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	require.ElementsMatch(t, []string{"perth-1", "nyc-1"}, ids)
}
