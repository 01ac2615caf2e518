package metaservice

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// PhysicalKeyer is implemented by engines that store a key under another
// byte string (TiKV: the volume prefix, then the memcomparable encoding
// regions are split on). Placement rules must name physical keys.
type PhysicalKeyer interface {
	PhysicalKey(key []byte) []byte
}

// placementRule is one PD placement rule, as pd-ctl's rule-bundle format
// spells it.
type placementRule struct {
	GroupID          string            `json:"group_id"`
	ID               string            `json:"id"`
	StartKey         string            `json:"start_key"`
	EndKey           string            `json:"end_key"`
	Role             string            `json:"role"`
	Count            int               `json:"count"`
	LabelConstraints []labelConstraint `json:"label_constraints"`
}

type labelConstraint struct {
	Key    string   `json:"key"`
	Op     string   `json:"op"`
	Values []string `json:"values"`
}

type ruleBundle struct {
	GroupID       string          `json:"group_id"`
	GroupIndex    int             `json:"group_index"`
	GroupOverride bool            `json:"group_override"`
	Rules         []placementRule `json:"rules"`
}

// PlacementRules returns a PD rule bundle (JSON, for `pd-ctl config
// placement-rules rule-bundle save`) that pins each shard with a site to
// it: the Raft leader and a majority of voters in the site (label
// labelKey=site), the remaining voters elsewhere, so that a metadata
// commit in that subtree costs a local round trip.
func (s *Service) PlacementRules(ctx context.Context, group, labelKey string, voters int) ([]byte, error) {
	pk, ok := s.kv.(PhysicalKeyer)
	if !ok {
		return nil, fmt.Errorf("placement rules: the %T engine has no regions to place (use a tikv:// volume)", s.kv)
	}
	if voters < 1 {
		return nil, fmt.Errorf("placement rules: %d voters", voters)
	}
	shards, err := s.ListShards(ctx)
	if err != nil {
		return nil, err
	}
	b := ruleBundle{GroupID: group, GroupIndex: 100, GroupOverride: true}
	for _, sh := range shards {
		if sh.Site == "" {
			continue
		}
		b.Rules = append(b.Rules, shardRules(group, labelKey, voters, sh, pk)...)
	}
	return json.MarshalIndent([]ruleBundle{b}, "", "  ")
}

func shardRules(group, labelKey string, voters int, sh ShardInfo, pk PhysicalKeyer) []placementRule {
	local := voters/2 + 1
	in := []labelConstraint{{Key: labelKey, Op: "in", Values: []string{sh.Site}}}
	out := []labelConstraint{{Key: labelKey, Op: "notIn", Values: []string{sh.Site}}}
	start := hex.EncodeToString(pk.PhysicalKey(sh.Start))
	end := hex.EncodeToString(pk.PhysicalKey(sh.End))
	rule := func(id, role string, count int, c []labelConstraint) placementRule {
		return placementRule{GroupID: group, ID: fmt.Sprintf("shard-%d-%s", sh.ID, id),
			StartKey: start, EndKey: end, Role: role, Count: count, LabelConstraints: c}
	}
	rules := []placementRule{rule("leader", "leader", 1, in)}
	if local > 1 {
		rules = append(rules, rule("local-voters", "voter", local-1, in))
	}
	if voters > local {
		rules = append(rules, rule("remote-voters", "voter", voters-local, out))
	}
	return rules
}
