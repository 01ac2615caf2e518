package clustertls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Identity is a node's TLS material, loaded from its node directory.
type Identity struct {
	Name     string   // the certificate's CommonName
	Roles    []string // sorted
	NotAfter time.Time

	cert tls.Certificate
	cas  *x509.CertPool
}

// Load reads the node directory dir (made by Issue): the cluster CA and
// the node's certificate and key. The certificate must be the CA's: a
// directory that mixes two CAs would otherwise fail every handshake and
// say so only on the peers. Load does not refuse an expired certificate
// (its peers do); Valid says whether it is.
func Load(dir string) (*Identity, error) {
	caPath := filepath.Join(dir, CACertFile)
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("TLS node directory %s: %w (make one with lis ca issue)", dir, err)
	}
	ca, err := parseCert(caPEM, caPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, NodeCertFile)); err != nil {
		return nil, fmt.Errorf("TLS node directory %s: %w (a CA directory is not a node's: make one with lis ca issue)", dir, err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile))
	if err != nil {
		return nil, fmt.Errorf("TLS node directory %s: %w", dir, err)
	}
	leaf := pair.Leaf
	if leaf == nil { // GODEBUG x509keypairleaf=0
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS node directory %s: %w", dir, err)
		}
		pair.Leaf = leaf
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("TLS node directory %s: %s was not issued by the CA in %s: %w", dir, NodeCertFile, CACertFile, err)
	}
	id := &Identity{Name: leaf.Subject.CommonName, Roles: rolesOf(leaf), NotAfter: leaf.NotAfter, cert: pair, cas: x509.NewCertPool()}
	if id.Name == "" || len(id.Roles) == 0 {
		return nil, fmt.Errorf("TLS node directory %s: %s is not a Lis node certificate (no name or no role)", dir, NodeCertFile)
	}
	id.cas.AddCert(ca)
	return id, nil
}

// Valid refuses a certificate outside its validity at now.
func (id *Identity) Valid(now time.Time) error {
	leaf := id.cert.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return fmt.Errorf("the certificate of node %s expired at %s: issue a new one (lis ca issue)", id.Name, leaf.NotAfter.Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("the certificate of node %s is not valid before %s (is this host's clock right?)", id.Name, leaf.NotBefore.Format(time.RFC3339))
	}
	return nil
}

// Has reports whether the node has role.
func (id *Identity) Has(role string) bool { return Peer{Roles: id.Roles}.Has(role) }

// ServerConfig is the TLS configuration of the node's servers: TLS 1.3
// only, and a client certificate of the cluster CA required.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.cas,
	}
}

// ClientConfig is the TLS configuration of the node's connections to
// other nodes: TLS 1.3 only, the server verified against the cluster CA
// (and the address dialled), and the node's certificate presented.
func (id *Identity) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    id.cas,
		// Always present the certificate, even when the server names
		// another CA: Go's client would otherwise send none, and the
		// server could only say that no certificate came, not whose.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &id.cert, nil },
	}
}
