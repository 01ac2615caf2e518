package dataserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"google.golang.org/grpc/metadata"

	"github.com/lis-fs/lis/metaservice/clustertls"
)

// Admin calls (GrantLease, RevokeLease, SetReplicas, Delete) decide what a
// dataserver accepts: which writes, and from which primary its replicas
// come. Only the metaservice may make them, never a client: a dataserver
// with Config.AdminToken set refuses them with EPERM unless the call
// carries that token (AdminContext). The dataserver gives its token to the
// metaservice in its heartbeats, over the connection it opened to the
// address it was told (--meta); the metaservice keeps it out of what it
// shows clients. This guards against local clients, not against a network
// eavesdropper: that is TLS's part, and with TLS configured a TCP peer's
// certificate decides instead of the token (authz.go). In-process calls
// (Local) are trusted.

// adminTokenKey is the gRPC metadata key that carries the token.
const adminTokenKey = "lis-admin-token"

// AdminTokenFile is where `lis dataserver` keeps its token, in its --dir.
const AdminTokenFile = "admin.token"

// AdminContext returns ctx carrying token to the admin calls made with it.
func AdminContext(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, adminTokenKey, token)
}

// checkAdmin refuses an admin call from a TLS peer without the
// metaservice role (authz.go), and from a plaintext one without the token.
func (s *Server) checkAdmin(ctx context.Context, method string) error {
	if authenticated, err := s.requireRole(ctx, clustertls.RoleMetaservice, method); authenticated {
		return err
	}
	want := s.cfg.AdminToken
	if want == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, got := range md.Get(adminTokenKey) {
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return nil
		}
	}
	return fmt.Errorf("%s: only the metaservice may make this call (no valid admin token): %w", method, syscall.EPERM)
}

// NewAdminToken returns a fresh random token.
func NewAdminToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// LoadAdminToken returns the token kept in dir, making one (readable by
// its owner only) the first time, so that it survives restarts.
func LoadAdminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if tok := strings.TrimSpace(string(b)); len(tok) >= 32 {
			return tok, nil
		}
		return "", fmt.Errorf("admin token %s: too short; remove it to make a new one", path)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := NewAdminToken()
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return tok, nil
}
