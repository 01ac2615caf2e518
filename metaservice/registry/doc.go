// Package registry is the metaservice's view of the dataservers of a
// volume: who they are (ID, site, region), where peers and clients reach
// them, how full and how far behind they are, and whether they are alive.
//
// It is the pure part of the registry, with no I/O: the record a
// dataserver's heartbeats keep in the KV store (Dataserver), the rule
// that decides whether a heartbeat may take an ID (Admit), and liveness
// by heartbeat age (Timeouts.Liveness). The metaservice stores the
// records, one key per dataserver, so the registry survives metaservice
// restarts and is shared by every metaservice of a TiKV cluster; the
// times in a record are the metaservice's clock, never the dataserver's,
// so clock skew between sites cannot make a dataserver look alive.
//
// Liveness, as operators of MooseFS or Ceph know it:
//   - up: a heartbeat within Timeouts.Suspect;
//   - suspect: none for Suspect, less than Down: still given its chunks'
//     reads and leases, but not chosen for new copies;
//   - down: none for Timeouts.Down: its copies no longer count, and its ID
//     may be taken by a dataserver at another address (a host that moved).
package registry
