package clustertls

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// The roles a node certificate may carry.
const (
	RoleMetaservice = "metaservice"
	RoleDataserver  = "dataserver"
	RoleClient      = "client"
)

var knownRoles = []string{RoleMetaservice, RoleDataserver, RoleClient}

// CheckRole refuses a role that is not one of the three.
func CheckRole(role string) error {
	if !slices.Contains(knownRoles, role) {
		return fmt.Errorf("unknown role %q (want %s)", role, strings.Join(knownRoles, ", "))
	}
	return nil
}

// rolesOf reads the roles of a node certificate; OrganizationalUnits that
// name no role are not roles.
func rolesOf(c *x509.Certificate) []string {
	var out []string
	for _, ou := range c.Subject.OrganizationalUnit {
		if CheckRole(ou) == nil && !slices.Contains(out, ou) {
			out = append(out, ou)
		}
	}
	slices.Sort(out)
	return out
}

// Peer is the authenticated node at the other end of a connection.
type Peer struct {
	Name  string   // its certificate's CommonName
	Roles []string // its certificate's roles, sorted
	Addr  string   // its address, for logs
}

// PeerIdentity returns the TLS-authenticated peer of a gRPC server call's
// ctx; ok is false for a plaintext connection (a unix socket, or TCP
// without TLS), to which the caller applies its own rules. A TLS
// connection without a verified certificate (which RequireAndVerify
// never lets through) gives a peer with no name and no role, so that
// every role check on it fails rather than fall back to the plaintext
// rules.
func PeerIdentity(ctx context.Context) (Peer, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return Peer{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Peer{}, false
	}
	out := Peer{}
	if p.Addr != nil {
		out.Addr = p.Addr.String()
	}
	if chains := info.State.VerifiedChains; len(chains) > 0 && len(chains[0]) > 0 {
		leaf := chains[0][0]
		out.Name, out.Roles = leaf.Subject.CommonName, rolesOf(leaf)
	}
	return out, true
}

// Has reports whether p has role.
func (p Peer) Has(role string) bool { return slices.Contains(p.Roles, role) }

func (p Peer) String() string {
	roles := "no role"
	if len(p.Roles) > 0 {
		roles = "roles " + strings.Join(p.Roles, ",")
	}
	return fmt.Sprintf("node %q (%s)", p.Name, roles)
}

// Require returns nil when p has role, else an EPERM error for call that
// says who was refused and which role the call needs.
func (p Peer) Require(role, call string) error {
	if p.Has(role) {
		return nil
	}
	return fmt.Errorf("%s: refused to %s: only a %s certificate may make this call: %w", call, p, role, syscall.EPERM)
}
