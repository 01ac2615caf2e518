// Package dspool is how the metaservice reaches dataservers: a pool of
// RPC clients, one per address, dialed on first use and kept. The
// metaservice installs and revokes chunk leases through it, points a
// primary at its replicas, and asks a copy which version it holds, so
// that no client can make a dataserver take a lease or a replica list the
// metaservice did not grant.
package dspool
