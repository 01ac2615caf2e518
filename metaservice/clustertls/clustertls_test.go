package clustertls_test

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/clustertls"
)

// newCA makes a cluster CA in a fresh directory.
func newCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	require.NoError(t, clustertls.InitCA(dir))
	return dir
}

// issue issues and loads a node of the CA in caDir (default addresses).
func issue(t *testing.T, caDir, name string, validity time.Duration, roles ...string) *clustertls.Identity {
	t.Helper()
	dir, err := clustertls.Issue(caDir, name, roles, nil, nil, validity)
	require.NoError(t, err)
	id, err := clustertls.Load(dir)
	require.NoError(t, err)
	return id
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	blk, rest := pem.Decode(b)
	require.NotNil(t, blk)
	require.Empty(t, rest)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, want, fi.Mode().Perm(), "mode of %s", path)
}

// TestIssueAndLoad: a CA and a node issued by it, as the files say and as
// Load reads them.
func TestIssueAndLoad(t *testing.T) {
	ca := newCA(t)
	requireMode(t, filepath.Join(ca, clustertls.CAKeyFile), 0o600)
	caCert := readCert(t, filepath.Join(ca, clustertls.CACertFile))
	require.True(t, caCert.IsCA)

	dir, err := clustertls.Issue(ca, "perth-1", []string{"dataserver", "client"}, nil, nil, 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ca, "perth-1"), dir)
	requireMode(t, filepath.Join(dir, clustertls.NodeKeyFile), 0o600)
	requireMode(t, dir, 0o700)
	_, err = os.Stat(filepath.Join(dir, clustertls.CAKeyFile))
	require.ErrorIs(t, err, os.ErrNotExist, "the CA key must not go to a node")

	c := readCert(t, filepath.Join(dir, clustertls.NodeCertFile))
	require.Equal(t, "perth-1", c.Subject.CommonName)
	require.Equal(t, []string{"client", "dataserver"}, c.Subject.OrganizationalUnit)
	require.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage)
	require.ElementsMatch(t, []string{"localhost", "perth-1"}, c.DNSNames)
	require.Len(t, c.IPAddresses, 2)
	require.True(t, c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)))
	require.True(t, c.IPAddresses[1].Equal(net.IPv6loopback))
	require.NoError(t, c.CheckSignatureFrom(caCert))
	require.WithinDuration(t, time.Now().Add(24*time.Hour), c.NotAfter, time.Minute)

	id, err := clustertls.Load(dir)
	require.NoError(t, err)
	require.Equal(t, "perth-1", id.Name)
	require.Equal(t, []string{"client", "dataserver"}, id.Roles)
	require.True(t, id.Has("dataserver"))
	require.False(t, id.Has("metaservice"))
	require.NoError(t, id.Valid(time.Now()))

	// Addresses given replace the defaults.
	dir, err = clustertls.Issue(ca, "meta", []string{"metaservice"}, []net.IP{net.ParseIP("10.0.0.5")}, []string{"meta.example"}, time.Hour)
	require.NoError(t, err)
	c = readCert(t, filepath.Join(dir, clustertls.NodeCertFile))
	require.Equal(t, []string{"meta.example"}, c.DNSNames)
	require.Len(t, c.IPAddresses, 1)
}

// TestIssueRefuses: bad requests fail, saying what is wrong, and nothing
// is overwritten.
func TestIssueRefuses(t *testing.T) {
	ca := newCA(t)
	require.ErrorContains(t, clustertls.InitCA(ca), "already exists")

	_, err := clustertls.Issue(ca, "n", []string{"admin"}, nil, nil, time.Hour)
	require.ErrorContains(t, err, `unknown role "admin"`)
	_, err = clustertls.Issue(ca, "n", nil, nil, nil, time.Hour)
	require.ErrorContains(t, err, "no role")
	for _, name := range []string{"", "..", "a/b", "a b"} {
		_, err = clustertls.Issue(ca, name, []string{"client"}, nil, nil, time.Hour)
		require.ErrorContains(t, err, "node name", "name %q", name)
	}
	missing := filepath.Join(t.TempDir(), "none")
	_, err = clustertls.Issue(missing, "n", []string{"client"}, nil, nil, time.Hour)
	require.ErrorContains(t, err, "no cluster CA in "+missing)
	require.ErrorContains(t, err, "lis ca init")

	issue(t, ca, "n", time.Hour, "client")
	_, err = clustertls.Issue(ca, "n", []string{"client"}, nil, nil, time.Hour)
	require.ErrorContains(t, err, "already holds a node certificate")
}

// TestLoadRefusesMixedDirectory: a node certificate with another CA's
// ca.crt beside it is refused at load, not at every handshake.
func TestLoadRefusesMixedDirectory(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	dir, err := clustertls.Issue(ca, "n", []string{"client"}, nil, nil, time.Hour)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(other, clustertls.CACertFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, clustertls.CACertFile), b, 0o644))
	_, err = clustertls.Load(dir)
	require.ErrorContains(t, err, "was not issued by the CA")

	_, err = clustertls.Load(filepath.Join(t.TempDir(), "nothing"))
	require.ErrorContains(t, err, "lis ca issue")
}

// TestExpiredIdentity: a certificate issued with a validity in the past
// loads, and Valid says it expired.
func TestExpiredIdentity(t *testing.T) {
	id := issue(t, newCA(t), "old", -time.Hour, "client")
	require.ErrorContains(t, id.Valid(time.Now()), "expired")
	require.True(t, id.NotAfter.Before(time.Now()))
}

// TestPeerRequire: a refusal wraps EPERM and says who and why.
func TestPeerRequire(t *testing.T) {
	p := clustertls.Peer{Name: "alice", Roles: []string{"client"}}
	require.NoError(t, p.Require("client", "Read"))
	err := p.Require("metaservice", "GrantLease")
	require.ErrorIs(t, err, syscall.EPERM)
	require.ErrorContains(t, err, `GrantLease: refused to node "alice" (roles client): only a metaservice certificate may make this call`)
	require.ErrorContains(t, clustertls.Peer{}.Require("dataserver", "Replicate"), "(no role)")
}
