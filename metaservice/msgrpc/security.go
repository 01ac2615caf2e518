package msgrpc

import (
	"net"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Which connections are secured is decided here, for servers and dials
// alike: a unix socket is plaintext, whatever credentials were given (its
// peers are on this host, and the socket file's mode keeps other users
// out: see Listen); TCP uses the credentials given (the cluster's mutual
// TLS), or is plaintext without them. So one server may serve a unix
// socket for its co-located client and TLS on TCP for other hosts.

// IsUnix reports whether addr names a unix socket ("unix:/path").
func IsUnix(addr string) bool { return strings.HasPrefix(addr, "unix:") }

// dialCreds are the credentials a dial of addr uses.
func dialCreds(addr string, creds credentials.TransportCredentials) credentials.TransportCredentials {
	if creds == nil || IsUnix(addr) {
		return insecure.NewCredentials()
	}
	return creds
}

// serverCreds are the credentials a server given creds uses: creds on
// TCP connections, plaintext on unix ones.
func serverCreds(creds credentials.TransportCredentials) credentials.TransportCredentials {
	if creds == nil {
		return nil
	}
	return tcpOnly{creds}
}

// tcpOnly handshakes with its credentials on TCP connections and in
// plaintext on unix ones.
type tcpOnly struct {
	credentials.TransportCredentials
}

func (c tcpOnly) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if conn.LocalAddr().Network() == "unix" {
		return insecure.NewCredentials().ServerHandshake(conn)
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c tcpOnly) Clone() credentials.TransportCredentials {
	return tcpOnly{c.TransportCredentials.Clone()}
}
