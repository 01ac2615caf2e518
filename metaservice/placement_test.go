package metaservice

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// prefixedEngine stands in for an engine whose physical keys differ.
type prefixedEngine struct{ kv.Engine }

func (prefixedEngine) PhysicalKey(k []byte) []byte { return append([]byte("vol/"), k...) }

func TestPlacementRules(t *testing.T) {
	f := newFixture(t, func(t *testing.T) kv.Engine { return prefixedEngine{memoryEngine(t)} })
	d := f.mkdir(alice, RootIno, "perth", 0755)
	rec, err := f.s.CreateShard(f.ctx, Root, d.Ino, "/perth")
	require.NoError(t, err)
	require.NoError(t, f.s.SetShardSite(f.ctx, rec.ID, "perth"))
	f.mkdir(alice, RootIno, "unpinned", 0755)

	out, err := f.s.PlacementRules(f.ctx, "lis-test", "site", 5)
	require.NoError(t, err)
	var bundles []ruleBundle
	require.NoError(t, json.Unmarshal(out, &bundles))
	require.Len(t, bundles, 1)
	rules := bundles[0].Rules
	require.Len(t, rules, 3)
	start, end := shardRange(rec.ID)
	counts := map[string]int{}
	for _, r := range rules {
		require.Equal(t, hex.EncodeToString(append([]byte("vol/"), start...)), r.StartKey)
		require.Equal(t, hex.EncodeToString(append([]byte("vol/"), end...)), r.EndKey)
		counts[r.Role+"/"+r.LabelConstraints[0].Op] += r.Count
	}
	require.Equal(t, map[string]int{"leader/in": 1, "voter/in": 2, "voter/notIn": 2}, counts,
		"leader plus a local majority of 3 of 5 voters")

	plain := newFixture(t, memoryEngine)
	_, err = plain.s.PlacementRules(plain.ctx, "g", "site", 3)
	require.ErrorContains(t, err, "tikv")
}
