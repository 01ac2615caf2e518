package clustertls_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

type whoReq struct{}

type whoResp struct {
	TLS   bool
	Name  string
	Roles []string
}

// whoServer serves test.Who, which answers with the caller's identity,
// on TCP (TLS) and a unix socket (plaintext) at once, as a daemon does.
type whoServer struct {
	tcp, unix string
	log       *syncBuffer
}

func startWho(t *testing.T, id *clustertls.Identity) *whoServer {
	t.Helper()
	w := &whoServer{log: &syncBuffer{}, unix: "unix:" + filepath.Join(t.TempDir(), "who.sock")}
	log := slog.New(slog.NewTextHandler(w.log, nil))
	srv := grpc.NewServer(msgrpc.ServerOptions(id.ServerCreds(log))...)
	srv.RegisterService(msgrpc.ServiceDesc("test.Who",
		msgrpc.Method("Who", func(ctx context.Context, _ *whoReq) (*whoResp, error) {
			p, ok := clustertls.PeerIdentity(ctx)
			return &whoResp{TLS: ok, Name: p.Name, Roles: p.Roles}, nil
		})), nil)
	for _, addr := range []string{"127.0.0.1:0", w.unix} {
		l, err := msgrpc.Listen(addr)
		require.NoError(t, err)
		if l.Addr().Network() == "tcp" {
			w.tcp = l.Addr().String()
		}
		go srv.Serve(l)
	}
	t.Cleanup(srv.Stop)
	return w
}

// who calls test.Who at addr with creds (nil: plaintext).
func who(t *testing.T, addr string, creds credentials.TransportCredentials) (*whoResp, error) {
	t.Helper()
	conn, err := msgrpc.Dial(addr, creds)
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return msgrpc.Invoke[whoReq, whoResp](ctx, conn, "test.Who", "Who", &whoReq{})
}

// requireLogged waits for the server to log a refused handshake
// containing every one of parts.
func (w *whoServer) requireLogged(t *testing.T, parts ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(w.log.String(), "\n") {
			if strings.Contains(line, "TLS handshake from 127.0.0.1:") && containsAll(line, parts) {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no refusal with %q logged:\n%s", parts, w.log)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestHandshake: over a real TCP listener, a node of the cluster CA is
// let in and known by name and roles; a node of another CA, an expired
// certificate, a plaintext client and TLS 1.2 are refused, and the server
// logs who and why; a client refuses a server of another CA. The unix
// socket of the same server is plaintext.
func TestHandshake(t *testing.T) {
	ca := newCA(t)
	server := issue(t, ca, "meta", time.Hour, "metaservice")
	w := startWho(t, server)

	t.Run("same CA", func(t *testing.T) {
		id := issue(t, ca, "perth-1", time.Hour, "dataserver", "client")
		got, err := who(t, w.tcp, id.ClientCreds())
		require.NoError(t, err)
		require.Equal(t, &whoResp{TLS: true, Name: "perth-1", Roles: []string{"client", "dataserver"}}, got)
	})
	t.Run("unix socket is plaintext", func(t *testing.T) {
		id := issue(t, ca, "local", time.Hour, "client")
		got, err := who(t, w.unix, id.ClientCreds())
		require.NoError(t, err)
		require.False(t, got.TLS, "a unix socket peer is not TLS-authenticated")
	})
	t.Run("another CA", func(t *testing.T) {
		// It trusts the cluster's CA (a public certificate), but its own
		// certificate is of another.
		stranger := issue(t, newCA(t), "stranger", time.Hour, "metaservice")
		cfg := stranger.ClientConfig()
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(readCert(t, filepath.Join(ca, clustertls.CACertFile)))
		_, err := who(t, w.tcp, credentials.NewTLS(cfg))
		require.Error(t, err)
		w.requireLogged(t, "refused", "certificate signed by unknown authority")
	})
	t.Run("expired", func(t *testing.T) {
		old := issue(t, ca, "old", -time.Hour, "client")
		_, err := who(t, w.tcp, old.ClientCreds())
		require.Error(t, err)
		w.requireLogged(t, "refused", "certificate has expired")
	})
	t.Run("plaintext", func(t *testing.T) {
		_, err := who(t, w.tcp, nil)
		require.Error(t, err)
		w.requireLogged(t, "refused: not a TLS client (plaintext?)")
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		id := issue(t, ca, "legacy", time.Hour, "client")
		cfg := id.ClientConfig()
		cfg.MinVersion, cfg.MaxVersion, cfg.ServerName = tls.VersionTLS12, tls.VersionTLS12, "127.0.0.1"
		c, err := tls.Dial("tcp", w.tcp, cfg)
		if err == nil {
			c.Close()
		}
		require.ErrorContains(t, err, "protocol version")
		w.requireLogged(t, "refused", "unsupported versions")
	})
	t.Run("server of another CA", func(t *testing.T) {
		id := issue(t, ca, "careful", time.Hour, "client")
		other := startWho(t, issue(t, newCA(t), "impostor", time.Hour, "metaservice"))
		_, err := who(t, other.tcp, id.ClientCreds())
		require.ErrorContains(t, err, "certificate signed by unknown authority")
		other.requireLogged(t, "refused", "the client refused this server's certificate")
	})
	t.Logf("the server's log:\n%s", w.log)
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
