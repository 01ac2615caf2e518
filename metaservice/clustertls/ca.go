package clustertls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files of a CA directory and of a node directory.
const (
	CACertFile   = "ca.crt"
	CAKeyFile    = "ca.key"
	NodeCertFile = "node.crt"
	NodeKeyFile  = "node.key"
)

// CAValidity is how long a cluster CA is valid.
const CAValidity = 10 * 365 * 24 * time.Hour

// clockSkew backdates certificates, so that a host whose clock is a little
// behind the issuer's accepts a certificate issued just now.
const clockSkew = time.Hour

// InitCA makes a cluster CA in dir (created 0700 if missing): ca.crt and
// ca.key (0600). It refuses to overwrite an existing CA: every node
// certificate issued by it would stop being trusted.
func InitCA(dir string) error {
	for _, f := range []string{CACertFile, CAKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("init CA: %s already exists; a new CA would orphan every certificate the old one issued "+
				"(remove %s yourself if that is what you want)", filepath.Join(dir, f), dir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("init CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Lis"}, CommonName: caName(now)},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs node certificates only
	}
	der, err := sign(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("init CA: %w", err)
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), key); err != nil {
		return fmt.Errorf("init CA: %w", err)
	}
	return writeNew(filepath.Join(dir, CACertFile), pemCert(der), 0o644)
}

// caName names a new CA uniquely: two CAs of one name would make a
// refused certificate's error point at the wrong one.
func caName(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return fmt.Sprintf("Lis cluster CA %x (%s)", b, now.UTC().Format("2006-01-02"))
}

// Issue makes a node certificate signed by the CA in caDir and writes the
// node directory caDir/name (ca.crt, node.crt, node.key), which it
// returns. name is the node's name (a dataserver's ID); roles are among
// Roles. The certificate is valid for the IP addresses and DNS names
// given; with neither, for 127.0.0.1, ::1, localhost and name (one
// machine). It is valid from now for validity; a negative validity makes
// a certificate that has already expired (for tests). An existing node
// directory is not overwritten.
func Issue(caDir, name string, roles []string, ips []net.IP, dnsNames []string, validity time.Duration) (string, error) {
	if err := checkRequest(name, roles); err != nil {
		return "", fmt.Errorf("issue: %w", err)
	}
	caCert, caKey, err := loadCA(caDir)
	if err != nil {
		return "", fmt.Errorf("issue %s: %w", name, err)
	}
	if len(ips) == 0 && len(dnsNames) == 0 {
		ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		dnsNames = []string{"localhost", name}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("issue %s: %w", name, err)
	}
	der, err := sign(nodeTemplate(name, roles, ips, dnsNames, validity), caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", fmt.Errorf("issue %s: %w", name, err)
	}
	dir := filepath.Join(caDir, name)
	if err := writeNode(dir, caCert.Raw, der, key); err != nil {
		return "", fmt.Errorf("issue %s: %w", name, err)
	}
	return dir, nil
}

// nodeTemplate is the certificate of a node: its name in CommonName, its
// roles as OrganizationalUnits, usable as server and as client.
func nodeTemplate(name string, roles []string, ips []net.IP, dnsNames []string, validity time.Duration) *x509.Certificate {
	roles = slices.Clone(roles)
	slices.Sort(roles)
	now := time.Now()
	notAfter, notBefore := now.Add(validity), now
	if notAfter.Before(notBefore) {
		notBefore = notAfter // already expired: valid for a while before
	}
	return &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"Lis"}, OrganizationalUnit: slices.Compact(roles), CommonName: name},
		NotBefore:   notBefore.Add(-clockSkew),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: ips,
		DNSNames:    dnsNames,
	}
}

// checkRequest validates a node's name (it names a directory too) and
// roles.
func checkRequest(name string, roles []string) error {
	if name == "" || len(name) > 128 || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\\=\n\x00 ") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("node name %q: 1 to 128 characters, not . or .., none of '/', '\\', '=', space, newline or NUL", name)
	}
	if len(roles) == 0 {
		return fmt.Errorf("node %s: no role (want one or more of %s)", name, strings.Join(knownRoles, ", "))
	}
	for _, r := range roles {
		if err := CheckRole(r); err != nil {
			return err
		}
	}
	return nil
}

// loadCA reads the CA certificate and key in dir.
func loadCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no cluster CA in %s (make one with lis ca init %s)", dir, dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	cert, err := parseCert(certPEM, filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key (only the CA directory has it, not a node's): %w", err)
	}
	key, err := parseKey(keyPEM, filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CACertFile))
	}
	return cert, key, nil
}

// writeNode writes a node directory; files already there are not
// overwritten.
func writeNode(dir string, caDER, der []byte, key *ecdsa.PrivateKey) error {
	if _, err := os.Lstat(filepath.Join(dir, NodeCertFile)); err == nil {
		return fmt.Errorf("%s already holds a node certificate (remove the directory to issue a new one)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, NodeKeyFile), key); err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, CACertFile), pemCert(caDER), 0o644); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, NodeCertFile), pemCert(der), 0o644)
}

// sign makes a DER certificate from tmpl, signed by parent's key, with a
// random 128-bit serial number.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}
