package replicaset

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/policy"
)

func TestShortfalls(t *testing.T) {
	require.Empty(t, Shortfalls(copies(5), cluster), "six usable dataservers hold five copies")
	require.Equal(t, []string{"7 copies asked for, but only 6 live dataservers with free space"}, Shortfalls(copies(7), cluster))
	perRegion := policy.Policy{TargetCopies: 2, PerRegion: true}
	require.Equal(t, []string{`region "us" has 1 live dataserver(s) with free space, fewer than the 2 copies per region asked for`},
		Shortfalls(perRegion, cluster), "nyc-2 is down and nyc-3 full")
	listed := policy.Policy{TargetCopies: 2, Regions: []string{"eu", "asia"}}
	require.Equal(t, []string{`region "asia" has no live dataserver with free space`}, Shortfalls(listed, cluster))
}
