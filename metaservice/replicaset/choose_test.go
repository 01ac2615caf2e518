package replicaset

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/policy"
)

var cluster = []Dataserver{
	{ID: "perth-1", Site: "perth", Region: "au", Free: 100, Up: true},
	{ID: "perth-2", Site: "perth", Region: "au", Free: 900, Up: true},
	{ID: "sydney-1", Site: "sydney", Region: "au", Free: 50, Up: true},
	{ID: "london-1", Site: "london", Region: "eu", Free: 100, Up: true},
	{ID: "london-2", Site: "london", Region: "eu", Free: 200, Up: true},
	{ID: "nyc-1", Site: "nyc", Region: "us", Free: 100, Up: true},
	{ID: "nyc-2", Site: "nyc", Region: "us", Free: 100, Up: false},
	{ID: "nyc-3", Site: "nyc", Region: "us", Free: 0, Up: true},
}

func copies(n int) policy.Policy { return policy.Policy{TargetCopies: n} }

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		name    string
		p       policy.Policy
		primary string
		reg     []Dataserver
		want    []string
	}{
		{"one copy is the primary", copies(1), "perth-1", cluster, []string{"perth-1"}},
		// Sites first: sydney and london are new sites; london is also a new region.
		{"two copies: a new site in a new region", copies(2), "perth-1", cluster, []string{"perth-1", "london-2"}},
		{"three copies: a third region", copies(3), "perth-1", cluster, []string{"perth-1", "london-2", "nyc-1"}},
		// After every region, a new site in a used region beats another host of a used site.
		{"four copies: then a new site", copies(4), "perth-1", cluster, []string{"perth-1", "london-2", "nyc-1", "sydney-1"}},
		{"five copies: then hosts, most free first", copies(5), "perth-1", cluster,
			[]string{"perth-1", "london-2", "nyc-1", "sydney-1", "perth-2"}},
		{"more than there are: under goal, never a down or full one", copies(16), "perth-1", cluster,
			[]string{"perth-1", "london-2", "nyc-1", "sydney-1", "perth-2", "london-1"}},
		{"regions restrict", policy.Policy{TargetCopies: 2, Regions: []string{"au", "us"}}, "perth-1", cluster,
			[]string{"perth-1", "nyc-1"}},
		{"2_per_region", policy.Policy{TargetCopies: 2, PerRegion: true}, "perth-1", cluster,
			[]string{"perth-1", "sydney-1", "london-2", "london-1", "nyc-1"}},
		{"1_per_region in listed regions", policy.Policy{TargetCopies: 1, PerRegion: true, Regions: []string{"eu", "us"}}, "perth-1", cluster,
			[]string{"perth-1", "london-2", "nyc-1"}},
		{"an unknown primary still comes first; then most free", copies(2), "laptop", cluster, []string{"laptop", "perth-2"}},
		{"alone", copies(3), "local", []Dataserver{{ID: "local", Up: true, Free: 1}}, []string{"local"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Choose(c.p, c.primary, c.reg, nil))
			require.Equal(t, c.want, Choose(c.p, c.primary, reversed(c.reg), nil), "the order of the registry does not matter")
		})
	}
}

// TestChooseKeepsHolders: a copy already placed stays where it is while
// it spreads the copies as well as another candidate would, however free
// space moved; it moves when the policy gains by it.
func TestChooseKeepsHolders(t *testing.T) {
	for _, c := range []struct {
		name    string
		p       policy.Policy
		holding []string
		want    []string
	}{
		// london-2 has the most free space of london, but london-1 holds the copy.
		{"a holder beats more free space", copies(2), []string{"perth-1", "london-1"}, []string{"perth-1", "london-1"}},
		// perth-2 is in the primary's site: london-2 spreads further.
		{"spread beats a holder", copies(2), []string{"perth-1", "perth-2"}, []string{"perth-1", "london-2"}},
		{"per region too", policy.Policy{TargetCopies: 1, PerRegion: true}, []string{"perth-1", "london-1"},
			[]string{"perth-1", "london-1", "nyc-1"}},
		{"a holder that is down is not kept", copies(3), []string{"perth-1", "london-2", "nyc-2"}, []string{"perth-1", "london-2", "nyc-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Choose(c.p, "perth-1", cluster, c.holding))
		})
	}
}

func reversed(ds []Dataserver) []Dataserver {
	out := make([]Dataserver, len(ds))
	for i, d := range ds {
		out[len(ds)-1-i] = d
	}
	return out
}

// TestChooseFaulty: a dataserver reporting a disk fault takes no new copy
// but keeps the one it holds.
func TestChooseFaulty(t *testing.T) {
	reg := append([]Dataserver(nil), cluster...)
	for i := range reg {
		if reg[i].ID == "london-2" {
			reg[i].Faulty = true
		}
	}
	require.Equal(t, []string{"perth-1", "london-1"}, Choose(copies(2), "perth-1", reg, nil), "no new copy on it")
	require.Equal(t, []string{"perth-1", "london-2"}, Choose(copies(2), "perth-1", reg, []string{"london-2"}),
		"the copy it holds stays")
}
