package dataserver

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// testNodes issues and loads nodes of a fresh cluster CA.
type testNodes struct {
	t  *testing.T
	ca string
}

func newTestNodes(t *testing.T) testNodes {
	ca := filepath.Join(t.TempDir(), "ca")
	require.NoError(t, clustertls.InitCA(ca))
	return testNodes{t: t, ca: ca}
}

func (n testNodes) node(name string, roles ...string) *clustertls.Identity {
	dir, err := clustertls.Issue(n.ca, name, roles, nil, nil, time.Hour)
	require.NoError(n.t, err)
	id, err := clustertls.Load(dir)
	require.NoError(n.t, err)
	return id
}

// TestTLSReplicationAndRoles: two dataservers with cluster identities
// replicate over TLS. Over TCP a metaservice certificate's admin call is
// taken without the admin token, a client certificate's admin calls and
// replication stream are refused with EPERM, and a client certificate
// may read; the co-located client on the unix socket keeps the token
// rule.
func TestTLSReplicationAndRoles(t *testing.T) {
	ctx := context.Background()
	nodes := newTestNodes(t)
	a := startServer(t, shortDir(t), "a", func(c *Config) {
		c.TLS, c.AdminToken = nodes.node("a", clustertls.RoleDataserver), NewAdminToken()
	})
	b := startServer(t, shortDir(t), "b", func(c *Config) { c.TLS = nodes.node("b", clustertls.RoleDataserver) })

	meta, err := DialCreds(a.Addr(), nodes.node("meta", clustertls.RoleMetaservice).ClientCreds())
	require.NoError(t, err)
	defer meta.Close()
	require.NoError(t, meta.SetReplicas(ctx, SetReplicasReq{Chunk: 1, Replicas: []Peer{{ID: "b", Addr: b.Addr()}}}))
	data := []byte("replicated over TLS")
	resp, err := a.client.Write(ctx, WriteReq{Chunk: 1, Data: data})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ci, err := a.client.ChunkInfo(ctx, 1)
		return err == nil && len(ci.Replicas) == 1 && ci.Replicas[0].AckedVersion == resp.Version
	}, 30*time.Second, 10*time.Millisecond, "b never acknowledged over TLS")

	laptop := nodes.node("laptop", clustertls.RoleClient)
	reader, err := DialCreds(b.Addr(), laptop.ClientCreds())
	require.NoError(t, err)
	defer reader.Close()
	got, err := reader.Read(ctx, 1, 0, int64(len(data)))
	require.NoError(t, err)
	require.Equal(t, data, got.Data)
	err = reader.GrantLease(ctx, Lease{Chunk: 1, Holder: "b", Epoch: 9, Expiry: time.Now().Add(time.Hour).UnixNano()})
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, `refused to node "laptop" (roles client)`)

	require.ErrorIs(t, a.client.Delete(ctx, 1), syscall.EPERM, "the unix socket without the token")
	requireReplicateRefused(t, b.Addr(), laptop)
}

// requireReplicateRefused opens a replication stream to addr as id and
// requires EPERM.
func requireReplicateRefused(t *testing.T, addr string, id *clustertls.Identity) {
	conn, err := msgrpc.Dial(addr, id.ClientCreds())
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := conn.NewStream(ctx, &replicateDesc, replicateMethod)
	require.NoError(t, err)
	err = stream.RecvMsg(&ReplAck{})
	require.Equal(t, codes.Code(msgrpc.ErrnoCodeBase+uint32(syscall.EPERM)), status.Code(err), "replicate as %s: %v", id.Name, err)
	require.ErrorContains(t, err, `Replicate: refused to node "`+id.Name+`"`)
}
