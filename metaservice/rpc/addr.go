package rpc

import (
	"net"
	"strings"
)

// IsLocalAddr reports whether a listen address ("unix:/path" or
// "host:port") is reachable only from this host: a unix socket, or TCP on
// a loopback address. Lis serves plaintext only on such addresses; an
// empty host ("":port, all interfaces) is not local.
func IsLocalAddr(addr string) bool {
	if strings.HasPrefix(addr, "unix:") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
