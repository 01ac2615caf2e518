package replicaset

import (
	"cmp"
	"slices"

	"github.com/lis-fs/lis/metaservice/policy"
)

// Dataserver is what placement needs to know of a registered dataserver.
type Dataserver struct {
	ID, Site, Region string
	Free             int64 // bytes it may still take
	Up               bool  // heard from recently (not suspect or down)
	// Faulty: it reports a disk fault. It takes no new copy, but the
	// copies it holds stay where they are (a fault may pass; moving them
	// would ship every chunk again).
	Faulty bool
}

// Choose returns the IDs of the dataservers that should hold a chunk
// written through primary under policy p, primary first. holding names
// the dataservers that hold a copy already: between candidates that
// spread the copies equally well, a holder is kept, so a review moves a
// copy only when the policy gains by it, never because free space shifted
// (which would ship the chunk again for nothing).
func Choose(p policy.Policy, primary string, registry []Dataserver, holding []string) []string {
	byID := map[string]Dataserver{}
	for _, d := range registry {
		byID[d.ID] = d
	}
	chosen := []Dataserver{byID[primary]}
	chosen[0].ID = primary
	pool := eligible(p, primary, registry, holding)
	if p.PerRegion {
		chosen = perRegion(p, chosen, pool, holding)
	} else {
		for len(chosen) < p.TargetCopies && len(pool) > 0 {
			var next Dataserver
			next, pool = best(chosen, pool, holding)
			chosen = append(chosen, next)
		}
	}
	ids := make([]string, len(chosen))
	for i, d := range chosen {
		ids[i] = d.ID
	}
	return ids
}

// eligible returns the dataservers that may take a copy, or keep the
// one they hold (holding), sorted by ID.
func eligible(p policy.Policy, primary string, registry []Dataserver, holding []string) []Dataserver {
	var out []Dataserver
	for _, d := range registry {
		if d.ID == primary || !d.Up || d.Free <= 0 || d.Faulty && !slices.Contains(holding, d.ID) {
			continue
		}
		if p.Regions != nil && !slices.Contains(p.Regions, d.Region) {
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dataserver) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// best picks from pool the copy that spreads chosen the most, and
// returns it with the rest of the pool.
func best(chosen, pool []Dataserver, holding []string) (Dataserver, []Dataserver) {
	score := func(d Dataserver) [3]bool {
		return [3]bool{!slices.ContainsFunc(chosen, func(c Dataserver) bool { return c.Site == d.Site }),
			!slices.ContainsFunc(chosen, func(c Dataserver) bool { return c.Region == d.Region }),
			slices.Contains(holding, d.ID)}
	}
	i := 0
	for j := 1; j < len(pool); j++ {
		if better(score(pool[j]), pool[j], score(pool[i]), pool[i]) {
			i = j
		}
	}
	d := pool[i]
	return d, slices.Delete(slices.Clone(pool), i, i+1)
}

// better orders candidates: a new site, then a new region, then a holder
// of a copy, then more free space; pool order (by ID) breaks exact ties.
func better(sa [3]bool, a Dataserver, sb [3]bool, b Dataserver) bool {
	for k := range sa {
		if sa[k] != sb[k] {
			return sa[k]
		}
	}
	return a.Free > b.Free
}

// perRegion adds copies until every region in play holds p.TargetCopies
// (or all its eligible dataservers).
func perRegion(p policy.Policy, chosen, pool []Dataserver, holding []string) []Dataserver {
	regions := p.Regions
	if regions == nil {
		for _, d := range append(slices.Clone(chosen), pool...) {
			if d.Region != "" && !slices.Contains(regions, d.Region) {
				regions = append(regions, d.Region)
			}
		}
		slices.Sort(regions)
	}
	for _, r := range regions {
		in := func(d Dataserver) bool { return d.Region == r }
		have := len(slices.DeleteFunc(slices.Clone(chosen), func(d Dataserver) bool { return !in(d) }))
		local := slices.DeleteFunc(slices.Clone(pool), func(d Dataserver) bool { return !in(d) })
		for ; have < p.TargetCopies && len(local) > 0; have++ {
			var next Dataserver
			next, local = best(chosen, local, holding)
			chosen = append(chosen, next)
		}
	}
	return chosen
}
