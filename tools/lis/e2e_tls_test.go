package main

import (
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// tlsNodes makes a cluster CA with `lis ca init` and issues, with `lis ca
// issue`, the node directories of a test cluster: meta (metaservice),
// perth-1 and london-1 (the default roles, dataserver and client) and
// laptop (client only). It returns the CA directory and the node
// directories by name.
func tlsNodes(t testing.TB) (string, map[string]string) {
	t.Helper()
	ca := filepath.Join(shortTempDir(t), "ca")
	out, err := runLis("ca", "init", ca)
	require.NoError(t, err, out)
	nodes := map[string]string{}
	for name, roles := range map[string][]string{"meta": {"--role", "metaservice"}, "perth-1": nil, "london-1": nil, "laptop": {"--role", "client"}} {
		out, err := runLis(append(append([]string{"ca", "issue", "--name", name}, roles...), ca)...)
		require.NoError(t, err, out)
		require.Contains(t, out, "issued in "+filepath.Join(ca, name))
		nodes[name] = filepath.Join(ca, name)
	}
	return ca, nodes
}

// tlsCluster is a metaservice (on TCP and a unix socket) and dataservers
// perth-1 and london-1 on 127.0.0.1, registered over TCP: with mutual
// TLS when started with node directories, in plaintext without.
type tlsCluster struct {
	nodes         map[string]string // nil: plaintext
	meta          *metaserviceProc
	metaTCP       string
	perth, london *dataserverProc
}

// startTLSCluster starts a tlsCluster; london keeps its chunks in
// londonDir.
func startTLSCluster(t testing.TB, nodes map[string]string, londonDir string) *tlsCluster {
	t.Helper()
	c := &tlsCluster{nodes: nodes, metaTCP: freePort(t)}
	c.meta = startMetaservice(t, shortTempDir(t), append([]string{"--listen", c.metaTCP}, c.tlsArgs("meta")...)...)
	ds := func(dir, id, site string) *dataserverProc {
		args := append([]string{"--site", site, "--region", "r-" + site, "--meta", c.metaTCP}, c.tlsArgs(id)...)
		return startDataserver(t, dir, id, args...)
	}
	c.perth, c.london = ds(shortTempDir(t), "perth-1", "perth"), ds(londonDir, "london-1", "london")
	require.Eventually(t, func() bool { return len(listDataservers(t, c.meta.addr())) == 2 }, 30*time.Second, 50*time.Millisecond,
		"dataservers never registered over TCP:\n%s\n%s\n%s", c.meta.log, c.perth.log, c.london.log)
	return c
}

// tlsArgs are the --tls-dir flag of node, none in plaintext.
func (c *tlsCluster) tlsArgs(node string) []string {
	if c.nodes == nil {
		return nil
	}
	return []string{"--tls-dir", c.nodes[node]}
}

// mount mounts the volume with the dataserver ds co-located, as node,
// through the metaservice's TCP address.
func (c *tlsCluster) mount(t testing.TB, ds *dataserverProc, node string) string {
	t.Helper()
	mnt := filepath.Join(publicTempDir(t), "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	args := append([]string{"--meta", c.metaTCP, "--dataserver", "unix:" + ds.unix}, c.tlsArgs(node)...)
	mountLis(t, append(args, mnt)...)
	return mnt
}

// TestE2ETLS: a metaservice, two dataservers and mounts that know each
// other only through `lis ca` certificates: a file replicates under
// target_copies 2 and reads remotely over TLS; peers of another CA,
// plaintext peers and expired certificates are refused, each with a log
// line saying so; certificate roles decide who may make admin calls,
// replicate and heartbeat (EPERM otherwise); and `lis ca` and the daemons
// refuse bad TLS setups, saying why.
func TestE2ETLS(t *testing.T) {
	needE2E(t)
	ca, nodes := tlsNodes(t)
	c := startTLSCluster(t, nodes, shortTempDir(t))
	t.Run("replication", func(t *testing.T) { testTLSReplication(t, c) })
	t.Run("refused handshakes", func(t *testing.T) { testTLSRefusals(t, c, ca) })
	t.Run("roles", func(t *testing.T) { testTLSRoles(t, c) })
	t.Run("bad setups", func(t *testing.T) { testTLSBadSetups(t, c, ca) })
}

// testTLSReplication: a file written at perth under target_copies 2
// reaches london over TLS (the metaservice's lease and replica-list calls
// too), and a file with one copy reads at london from perth's dataserver.
func testTLSReplication(t *testing.T, c *tlsCluster) {
	perth := c.mount(t, c.perth, "laptop")
	london := c.mount(t, c.london, "london-1")
	dir := filepath.Join(perth, "two")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 2\nwrite_ack: local_only\n"), 0o644))
	data := randomData(11, 3<<20+17)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), data, 0o644))

	mc, err := rpc.Dial(c.meta.addr(), nil) // the unix socket: plaintext
	require.NoError(t, err)
	defer mc.Close()
	recs := chunkRecords(t, mc, filepath.Join(dir, "f"))
	require.Len(t, recs, 1)
	require.Equal(t, []string{"london", "perth"}, copySites(recs[0]))
	requireSameCopiesUnix(t, uint64(recs[0].ID), c.perth, c.london)
	requireContent(t, filepath.Join(london, "two", "f"), data, "read at london")

	one := filepath.Join(perth, "one")
	require.NoError(t, os.Mkdir(one, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(one, ".lis-policy.yaml"), []byte("target_copies: 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(one, "g"), data[:100_000], 0o644))
	requireContent(t, filepath.Join(london, "one", "g"), data[:100_000], "read at london from perth's dataserver")

	for _, sock := range []string{c.perth.unix, c.meta.sock} {
		fi, err := os.Stat(sock)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o660), fi.Mode().Perm(), "mode of %s", sock)
	}
}

// requireSameCopiesUnix is requireSameCopies through the dataservers'
// unix sockets (their TCP ports speak TLS only).
func requireSameCopiesUnix(t *testing.T, chunk uint64, dss ...*dataserverProc) {
	t.Helper()
	var clients []*dataserver.Client
	for _, d := range dss {
		c, err := dataserver.Dial("unix:" + d.unix)
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
	}
	var diff string
	require.Eventually(t, func() bool { diff = copiesDiffer(clients, chunk); return diff == "" },
		30*time.Second, 50*time.Millisecond, "copies of chunk %x still differ: %s", chunk, diff)
}

// testTLSRefusals: a peer whose certificate is of another CA (though it
// trusts ours and names a real dataserver), a plaintext peer and an
// expired certificate get nothing, and the server logs who and why.
func testTLSRefusals(t *testing.T, c *tlsCluster, ca string) {
	other := filepath.Join(shortTempDir(t), "other")
	require.NoError(t, clustertls.InitCA(other))
	stranger := loadNode(t, other, "perth-1", time.Hour, clustertls.RoleDataserver, clustertls.RoleMetaservice)
	cfg := stranger.ClientConfig()
	cfg.RootCAs = clusterPool(t, ca)
	requireCallFails(t, c.london.tcp, credentials.NewTLS(cfg))
	requireRefusalLogged(t, c.london.log, "certificate signed by unknown authority")

	requireCallFails(t, c.london.tcp, nil)
	requireRefusalLogged(t, c.london.log, "not a TLS client (plaintext?)")
	plain, err := rpc.Dial(c.metaTCP, nil)
	require.NoError(t, err)
	defer plain.Close()
	_, err = plain.ListDataservers(callCtx(t))
	require.Error(t, err, "a plaintext call to the metaservice's TLS port")
	requireRefusalLogged(t, c.meta.log, "not a TLS client (plaintext?)")

	expired := loadNode(t, ca, "expired-1", -time.Hour, clustertls.RoleMetaservice)
	requireCallFails(t, c.london.tcp, expired.ClientCreds())
	requireRefusalLogged(t, c.london.log, "certificate has expired")
}

// loadNode issues a node of the CA in caDir through the package (which,
// unlike `lis ca issue`, takes a validity in the past) and loads it.
func loadNode(t *testing.T, caDir, name string, validity time.Duration, roles ...string) *clustertls.Identity {
	t.Helper()
	dir, err := clustertls.Issue(caDir, name, roles, nil, nil, validity)
	require.NoError(t, err)
	id, err := clustertls.Load(dir)
	require.NoError(t, err)
	return id
}

// clusterPool is the CA certificate of caDir as a pool, as anyone may
// have it.
func clusterPool(t *testing.T, caDir string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(caDir, clustertls.CACertFile))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b))
	return pool
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// requireCallFails requires a dataserver call to addr with creds (nil:
// plaintext) to fail.
func requireCallFails(t *testing.T, addr string, creds credentials.TransportCredentials) {
	t.Helper()
	d, err := dataserver.DialCreds(addr, creds)
	require.NoError(t, err)
	defer d.Close()
	_, err = d.Stat(callCtx(t))
	require.Error(t, err, "a call to %s got through", addr)
}

// requireRefusalLogged waits for a daemon's log line of a refused
// handshake from 127.0.0.1 that says why.
func requireRefusalLogged(t *testing.T, log *syncBuffer, why string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, "TLS handshake from 127.0.0.1:") && strings.Contains(line, "refused: ") && strings.Contains(line, why) {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no refusal saying %q logged:\n%s", why, log)
}

// testTLSRoles: over TLS, a client certificate may read and stat but not
// make admin calls, replicate, or heartbeat; a dataserver may heartbeat
// only as itself.
func testTLSRoles(t *testing.T, c *tlsCluster) {
	laptop := loadDir(t, c.nodes["laptop"])
	d, err := dataserver.DialCreds(c.perth.tcp, laptop.ClientCreds())
	require.NoError(t, err)
	defer d.Close()
	ctx := callCtx(t)
	_, err = d.Stat(ctx)
	require.NoError(t, err, "a client may stat")
	err = d.GrantLease(ctx, dataserver.Lease{Chunk: 7, Holder: "perth-1", Epoch: 99, Expiry: time.Now().Add(time.Hour).UnixNano()})
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, `GrantLease: refused to node "laptop" (roles client): only a metaservice certificate may make this call`)
	require.ErrorIs(t, d.SetReplicas(ctx, dataserver.SetReplicasReq{Chunk: 7, Replicas: []dataserver.Peer{{ID: "evil", Addr: "127.0.0.1:1"}}}), syscall.EPERM)
	require.ErrorIs(t, d.Delete(ctx, 7), syscall.EPERM)
	require.ErrorIs(t, d.RevokeLease(ctx, 7, 99), syscall.EPERM)

	// Without the admin token, the unix socket keeps refusing too.
	u, err := dataserver.Dial("unix:" + c.perth.unix)
	require.NoError(t, err)
	defer u.Close()
	require.ErrorIs(t, u.Delete(ctx, 7), syscall.EPERM, "admin call over the unix socket without the token")

	requireReplicateRefused(t, c.perth.tcp, laptop)
	requireHeartbeatRefused(t, c, laptop, "perth-1", "only a dataserver certificate")
	requireHeartbeatRefused(t, c, loadDir(t, c.nodes["london-1"]), "perth-1", `its certificate may speak for "london-1" only`)
}

func loadDir(t *testing.T, dir string) *clustertls.Identity {
	t.Helper()
	id, err := clustertls.Load(dir)
	require.NoError(t, err)
	return id
}

// requireReplicateRefused opens a replication stream to the dataserver at
// addr as id and requires EPERM.
func requireReplicateRefused(t *testing.T, addr string, id *clustertls.Identity) {
	t.Helper()
	conn, err := msgrpc.Dial(addr, id.ClientCreds())
	require.NoError(t, err)
	defer conn.Close()
	desc := &grpc.StreamDesc{StreamName: "Replicate", ServerStreams: true, ClientStreams: true}
	stream, err := conn.NewStream(callCtx(t), desc, "/"+dataserver.ServiceName+"/Replicate")
	require.NoError(t, err)
	err = stream.RecvMsg(&dataserver.ReplAck{})
	st, _ := status.FromError(err)
	require.Equal(t, codes.Code(msgrpc.ErrnoCodeBase+uint32(syscall.EPERM)), st.Code(), "replicate as %s: %v", id.Name, err)
	require.Contains(t, st.Message(), `Replicate: refused to node "`+id.Name+`"`)
}

// requireHeartbeatRefused heartbeats to the metaservice's TCP port as
// dataserver dsID with id's certificate and requires EPERM saying why.
func requireHeartbeatRefused(t *testing.T, c *tlsCluster, id *clustertls.Identity, dsID, why string) {
	t.Helper()
	mc, err := rpc.Dial(c.metaTCP, id.ClientCreds())
	require.NoError(t, err)
	defer mc.Close()
	err = mc.DataserverHeartbeat(callCtx(t), registry.Heartbeat{ID: dsID, Addr: "127.0.0.1:1"})
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, why)
	require.Equal(t, c.perth.tcp, listDataservers(t, c.meta.addr())["perth-1"].Addr, "a refused heartbeat moved perth-1")
}

// testTLSBadSetups: `lis ca` and the daemons refuse bad input at once,
// saying what is wrong.
func testTLSBadSetups(t *testing.T, c *tlsCluster, ca string) {
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"ca", "init", ca}, "already exists"},
		{[]string{"ca", "issue", "--name", "x", "--role", "admin", ca}, `unknown role "admin"`},
		{[]string{"ca", "issue", "--name", "x", "--ip", "10.0.0.300", ca}, `--ip "10.0.0.300": not an IP address`},
		{[]string{"ca", "issue", "--name", "x", filepath.Join(ca, "nowhere")}, "no cluster CA in"},
		{[]string{"ca", "issue", "--name", "perth-1", ca}, "already holds a node certificate"},
		{[]string{"metaservice", "--meta-url", "memory:", "--listen", "127.0.0.1:0", "--tls-dir", c.nodes["perth-1"]}, "not metaservice"},
		{[]string{"dataserver", "--dir", shortTempDir(t), "--id", "nyc-1", "--listen", "127.0.0.1:0", "--tls-dir", c.nodes["perth-1"]},
			"--id nyc-1, but the certificate in --tls-dir"},
		{[]string{"dataserver", "--dir", shortTempDir(t), "--listen", "127.0.0.1:0", "--tls-dir", c.nodes["laptop"]}, "not dataserver"},
		{[]string{"dataserver", "--dir", shortTempDir(t), "--listen", "127.0.0.1:0", "--tls-dir", ca}, "lis ca issue"},
		{[]string{"metaservice", "--meta-url", "memory:", "--listen", "0.0.0.0:0"}, "give --tls-dir"},
		{[]string{"mount", "--data-dir", shortTempDir(t), "--tls-dir", c.nodes["laptop"], publicTempDir(t)}, "--tls-dir is for a cluster client"},
	} {
		out, err := exec.Command(lisBin, bad.args...).CombinedOutput()
		require.Error(t, err, "lis %s succeeded: %s", strings.Join(bad.args, " "), out)
		require.Contains(t, string(out), bad.want, "lis %s", strings.Join(bad.args, " "))
	}
}
