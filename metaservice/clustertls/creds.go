package clustertls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"google.golang.org/grpc/credentials"
)

// ServerCreds are gRPC credentials for the node's servers (see
// ServerConfig). A refused handshake is logged to log (nil: slog's
// default) in one line: who, and why.
func (id *Identity) ServerCreds(log *slog.Logger) credentials.TransportCredentials {
	if log == nil {
		log = slog.Default()
	}
	return &loggedServer{TransportCredentials: credentials.NewTLS(id.ServerConfig()), log: log}
}

// ClientCreds are gRPC credentials for the node's connections to other
// nodes (see ClientConfig).
func (id *Identity) ClientCreds() credentials.TransportCredentials {
	return credentials.NewTLS(id.ClientConfig())
}

// loggedServer logs the handshakes its credentials refuse: gRPC itself
// drops them silently, and an operator whose node cannot join needs to
// see why on the server it was refused by.
type loggedServer struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (c *loggedServer) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.log.Warn(fmt.Sprintf("TLS handshake from %s refused: %s", conn.RemoteAddr(), refusal(err)))
	}
	return out, info, err
}

func (c *loggedServer) Clone() credentials.TransportCredentials {
	return &loggedServer{TransportCredentials: c.TransportCredentials.Clone(), log: c.log}
}

// refusal says why a handshake failed, in the terms of the usual causes.
func refusal(err error) string {
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &rec):
		return "not a TLS client (plaintext?)"
	case errors.Is(err, io.EOF):
		return "the client closed the connection during the handshake"
	case errors.As(err, &op) && op.Op == "remote error":
		return "the client refused this server's certificate: " + err.Error()
	}
	return err.Error()
}
