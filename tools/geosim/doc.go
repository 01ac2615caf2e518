// Package geosim puts a Lis cluster behind real distances on one machine.
//
// A World is a set of sites, each a network namespace acting as the site's
// gateway, and hosts, each a namespace of its own joined to its site's
// gateway by a veth pair. Within a site, traffic crosses only the kernel
// (veth and routing, at full speed). Between sites it leaves the gateway
// through a TUN device into a Router in this process, which holds each
// packet for the link's one-way delay behind a serialisation rate and a
// drop-tail queue, drops it for loss or a partition, and writes it into the
// destination site's TUN. A packet router rather than a TCP proxy is the
// point: the daemons' TCP stacks see a real long fat pipe (slow start,
// receive windows, retransmits), so throughput figures mean what they say.
//
// Addresses are 10.77.S.H (site S from 1, host H from 1); a site's gateway
// is 10.77.S.254. Only those addresses are used, and only inside the
// namespaces a World made.
//
// Everything a World makes is named by the PID of the process that made
// it: namespaces lisgeo-PID-..., a state directory /run/lis/geosim/PID
// holding data directories, logs and mount points, and /dev/shm/lisgeo/PID
// for the data of hosts that stand for other machines (Spec.Home). Close
// removes it all (processes, mounts, namespaces, directories), and
// CleanLeftovers removes what a crashed run (PID no longer alive) left.
//
// Scenarios (scenario*.go) drive real `lis` processes inside the World and
// assert their outcome; each returns a Report of its figures. Tests run the
// short versions; `lis geosim run` runs any at full size for a person.
package geosim
