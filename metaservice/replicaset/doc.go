// Package replicaset chooses the dataservers that hold a chunk's copies:
// the placement of a chunk, from its effective replication policy and the
// registry of dataservers. It is pure (no I/O, no clock) and
// deterministic: the same policy and registry give the same set, which
// tests and operators can rely on.
//
// The writer's co-located dataserver is the primary and counts as the
// first copy. The others are chosen among dataservers that are up (not
// suspect, not down) and have free space:
//   - target_copies: N spreads N-1 more copies over distinct sites first,
//     then distinct regions, then hosts, preferring the most free space
//     among equals and the smaller ID among exact ties;
//   - N_per_region puts N copies in every region that has eligible
//     dataservers (or every listed region), the primary's region
//     counting the primary;
//   - regions: [...] restricts the copies to those regions.
//
// When too few dataservers qualify the set is smaller than the policy
// asks (the chunk is under goal), never filled with ineligible ones.
package replicaset
