package replicaset

import (
	"fmt"
	"slices"

	"github.com/lis-fs/lis/metaservice/policy"
)

// Shortfalls says where the registry cannot hold the copies p asks for:
// a total larger than the dataservers that may take a copy, a region
// listed that has none, or, for "N_per_region", a region with fewer than
// N. These are warnings, not errors: a chunk then has what the cluster
// can give (and is under goal), and regions may grow.
func Shortfalls(p policy.Policy, registry []Dataserver) []string {
	usable := eligible(p, "", registry, nil)
	perRegion := map[string]int{}
	for _, d := range usable {
		perRegion[d.Region]++
	}
	var out []string
	for _, r := range p.Regions {
		if perRegion[r] == 0 {
			out = append(out, fmt.Sprintf("region %q has no live dataserver with free space", r))
		}
	}
	if !p.PerRegion {
		if len(usable) < p.TargetCopies {
			out = append(out, fmt.Sprintf("%d copies asked for, but only %d live dataservers with free space", p.TargetCopies, len(usable)))
		}
		return out
	}
	regions := p.Regions
	if regions == nil {
		for r := range perRegion {
			regions = append(regions, r)
		}
		slices.Sort(regions)
	}
	for _, r := range regions {
		if n := perRegion[r]; n > 0 && n < p.TargetCopies {
			out = append(out, fmt.Sprintf("region %q has %d live dataserver(s) with free space, fewer than the %d copies per region asked for", r, n, p.TargetCopies))
		}
	}
	return out
}
