// Package clustertls is the mutual TLS between Lis daemons: a cluster CA,
// the node certificates it issues, and the gRPC credentials made from
// them.
//
// The CA lives in a directory of its own (ca.crt, ca.key) that stays on
// the operator's machine. Each node gets a directory (ca.crt, node.crt,
// node.key) to copy to its host and give to `lis metaservice`, `lis
// dataserver` or `lis mount` with --tls-dir. A node certificate names the
// node in its CommonName (a dataserver's name is its dataserver ID) and
// its roles, "metaservice", "dataserver" and "client", one per
// OrganizationalUnit; it serves both as a server and as a client
// certificate, since every daemon is both.
//
// Connections are TLS 1.3 only and authenticated both ways against the
// cluster CA: a peer with a certificate of another CA, an expired one, or
// none (plaintext) is refused during the handshake, and the server logs
// one line saying who and why. Servers then authorize calls by the peer's
// roles (PeerIdentity, Peer.Require); which role may make which call is
// the services' decision, not this package's.
//
// This package decides nothing about which connections use TLS: that is
// msgrpc's (unix sockets stay plaintext, TCP uses these credentials).
package clustertls
