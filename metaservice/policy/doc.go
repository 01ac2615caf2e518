// Package policy is the replication policy of a directory: how many copies
// of a file's chunks Lis keeps, where, how a write is acknowledged, and how
// much inter-site bandwidth replication may use. A directory holds one in a
// file named .lis-policy.yaml; the effective policy of a file is the one of
// its nearest ancestor that has one, and the root falls back to Default
// ("balanced"). Resolution and caching belong to the metaservice; this
// package only parses, validates, prints and encodes one policy.
//
// The file is one YAML mapping. Every key is optional; a missing key takes
// its built-in default (not the parent directory's value: a policy file
// states a whole policy, so `{}` means "the built-in default here").
//
//	write_ack: local_plus_one     # local_only | local_plus_one | geographic
//	replication: async_priority   # async_lazy | async_priority | sync
//	target_copies: 3              # 1..16, or "N_per_region" (N in 1..16)
//	regions: [perth, london]      # where copies live (optional)
//	bandwidth:
//	  limit: 100mbps              # or "unlimited"
//	  priority_hours: "22:00-06:00"
//	  burst_allowed: true
//
// Meaning, and the rules Validate enforces:
//   - write_ack says when a write is acknowledged: once durable on the
//     writer's site (local_only), on the writer's site and one more
//     dataserver (local_plus_one), or on the writer's site and in another
//     region (geographic). local_plus_one needs at least two copies;
//     geographic needs copies in several regions, so it requires either
//     target_copies "N_per_region" or a regions list of at least two.
//     Default: local_plus_one, or local_only when target_copies is 1.
//   - replication says how the copies beyond the acknowledged ones are
//     made: in the background when the link is idle (async_lazy), in the
//     background as soon as possible (async_priority), or before the write
//     is acknowledged (sync; then write_ack is only a lower bound).
//     Default: async_priority.
//   - target_copies is the number of copies of every chunk, in total or, as
//     "N_per_region", in each region (each listed region, or every region
//     of the cluster when no list is given). Default: 2.
//   - regions names the regions that hold copies: lower-case names of at
//     most 63 characters ([a-z][a-z0-9_-]*), distinct, at most 16. Each
//     listed region holds at least one copy, so a total target_copies must
//     be at least the number of regions.
//   - bandwidth.limit caps the rate of replication traffic of files under
//     the policy leaving a site, outside priority hours. Rates are decimal
//     numbers with a unit: bits per second as bps, kbps, mbps, gbps (any
//     letter case, powers of 1000), or bytes per second as B/s, KB/s, MB/s,
//     GB/s (powers of 1000) or KiB/s, MiB/s, GiB/s (powers of 1024); e.g.
//     "100mbps", "1gbps", "500kbps", "12.5MB/s". The result is rounded to
//     whole bytes per second and must be at least 1 B/s and at most 1 TB/s.
//     Default: unlimited.
//   - bandwidth.priority_hours ("HH:MM-HH:MM", 00:00..23:59, the end may be
//     24:00, may wrap past midnight, start != end) is the daily window, in
//     the local time of the site sending, in which the limit is lifted and
//     lazy replication is scheduled. Default: none (the limit always holds,
//     lazy replication runs whenever the link is idle).
//   - bandwidth.burst_allowed lets replication exceed the limit for short
//     bursts while the link is otherwise idle. Default: false.
//
// A file that does not parse or validate yields a *ParseError naming the
// line, the key and what is wrong; it wraps syscall.EINVAL, the errno the
// write or close of the policy file fails with. Marshal prints a policy as
// a canonical file (every key, fixed order) that parses back to it; Encode
// and Decode give the compact form the metaservice stores (a version byte
// and a msgpack array), and Decode validates what it reads.
package policy
