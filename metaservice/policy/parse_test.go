package policy

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func hours(s, e int) *HourRange { return &HourRange{StartMin: s, EndMin: e} }

// validCases are policy files that parse, with their result. Marshal and
// fuzz tests reuse them.
var validCases = []struct {
	name string
	yaml string
	want Policy
}{
	{"design example", `
write_ack: local_plus_one        # local_only | local_plus_one | geographic
replication: async_priority      # async_lazy | async_priority | sync
target_copies: 3                 # N, or "N_per_region"
bandwidth:
  limit: 100mbps
  priority_hours: "22:00-06:00"
  burst_allowed: true
`, Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 3,
		Bandwidth: Bandwidth{LimitBytesPerSec: 12_500_000, PriorityHours: hours(22*60, 6*60), BurstAllowed: true}}},
	{"empty mapping is the default", "{}", Default()},
	{"comments and explicit document markers", "# policy\n---\n{} # defaults\n...\n", Default()},
	{"only replication", "replication: sync", Policy{WriteAck: LocalPlusOne, Replication: Sync, TargetCopies: 2}},
	{"one copy defaults to local_only", "target_copies: 1", Policy{WriteAck: LocalOnly, Replication: AsyncPriority, TargetCopies: 1}},
	{"one copy per region keeps local_plus_one", `target_copies: "1_per_region"`,
		Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 1, PerRegion: true}},
	{"quoted integer", `target_copies: "16"`, Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 16}},
	{"geographic per region", "write_ack: geographic\ntarget_copies: 2_per_region\nreplication: async_lazy",
		Policy{WriteAck: Geographic, Replication: AsyncLazy, TargetCopies: 2, PerRegion: true}},
	{"geographic with regions", "write_ack: geographic\nregions: [perth, london]",
		Policy{WriteAck: Geographic, Replication: AsyncPriority, TargetCopies: 2, Regions: []string{"perth", "london"}}},
	{"regions in block style", "regions:\n  - perth-2\n  - eu_west\n  - a1\ntarget_copies: 3",
		Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 3, Regions: []string{"perth-2", "eu_west", "a1"}}},
	{"empty regions list is no list", "regions: []", Default()},
	{"flow-style bandwidth", `bandwidth: {limit: 12.5MB/s, burst_allowed: FALSE}`,
		Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 2, Bandwidth: Bandwidth{LimitBytesPerSec: 12_500_000}}},
	{"unlimited and all-day window", "bandwidth:\n  limit: unlimited\n  priority_hours: 00:00-24:00",
		Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 2, Bandwidth: Bandwidth{PriorityHours: hours(0, 1440)}}},
	{"empty bandwidth mapping", "bandwidth: {}", Default()},
	{"an anchor without alias is harmless", "write_ack: geographic\nregions: &r [perth, london]",
		Policy{WriteAck: Geographic, Replication: AsyncPriority, TargetCopies: 2, Regions: []string{"perth", "london"}}},
	{"CRLF line ends", "write_ack: local_only\r\ntarget_copies: 4\r\n", Policy{WriteAck: LocalOnly, Replication: AsyncPriority, TargetCopies: 4}},
}

func TestParseValid(t *testing.T) {
	for _, c := range validCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.yaml))
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.NoError(t, got.Validate())
		})
	}
}

const units = `(use bps, kbps, mbps, gbps for bits/s; B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s for bytes/s; or "unlimited")`

// errorCases are policy files that Parse refuses, with the line, key and
// complete message of the error.
var errorCases = []struct {
	name  string
	yaml  string
	line  int
	field string
	err   string // the whole Error() text
}{
	// The document as a whole.
	{"empty file", "", 1, "", `.lis-policy.yaml:1: empty policy (write {} for the built-in default)`},
	{"only comments", "# nothing\n\n# here\n", 1, "", `.lis-policy.yaml:1: empty policy (write {} for the built-in default)`},
	{"null document", "\n~\n", 2, "", `.lis-policy.yaml:2: empty policy (write {} for the built-in default)`},
	{"two documents", "write_ack: local_only\n---\nreplication: sync\n", 2, "",
		`.lis-policy.yaml:2: a second YAML document starts here; a policy file holds one`},
	{"trailing document marker", "write_ack: local_only\n---\n", 2, "",
		`.lis-policy.yaml:2: a second YAML document starts here; a policy file holds one`},
	{"a list", "- write_ack: local_only\n", 1, "",
		`.lis-policy.yaml:1: a policy must be a mapping of keys (write_ack, replication, target_copies, regions, bandwidth), got a list`},
	{"a scalar", "local_only", 1, "",
		`.lis-policy.yaml:1: a policy must be a mapping of keys (write_ack, replication, target_copies, regions, bandwidth), got "local_only"`},
	// For some errors the line is where the broken construct starts.
	{"syntax error", "write_ack: local_only\nbandwidth: [limit: 1\n", 2, "",
		`.lis-policy.yaml:2: YAML syntax: did not find expected ',' or ']'`},
	{"bad indentation", "bandwidth:\n  limit: 1gbps\n burst_allowed: true\n", 3, "",
		`.lis-policy.yaml:3: YAML syntax: did not find expected key`},
	{"parser error at the end", "[a, b\n", 2, "", `.lis-policy.yaml:2: YAML syntax: did not find expected ',' or ']'`},
	{"list after mapping", "- a\nb: 1\n", 2, "", `.lis-policy.yaml:2: YAML syntax: did not find expected '-' indicator`},
	{"content after flow mapping", "{write_ack: sync}\nx: 1\n", 2, "", `.lis-policy.yaml:2: YAML syntax: did not find expected <document start>`},
	{"scanner error on line 1", "a: b: c\n", 1, "", `.lis-policy.yaml:1: YAML syntax: mapping values are not allowed in this context`},
	{"tab indentation", "bandwidth:\n\tlimit: 1gbps\n", 2, "",
		`.lis-policy.yaml:2: YAML syntax: found character that cannot start any token`},
	{"invalid UTF-8", "write_ack: \xff\n", 0, "", `.lis-policy.yaml: YAML syntax: invalid leading UTF-8 octet`},
	{"undefined alias", "regions: [*p]\n", 0, "", `.lis-policy.yaml: YAML syntax: unknown anchor 'p' referenced`},
	{"too large", "#" + strings.Repeat("x", MaxFileSize), 0, "",
		`.lis-policy.yaml: file is 65537 bytes; a policy file may have at most 65536`},

	// Keys.
	{"unknown key", "write_ack: local_only\ntarget_copy: 3\n", 2, "",
		`.lis-policy.yaml:2: unknown key "target_copy" (known keys: write_ack, replication, target_copies, regions, bandwidth)`},
	{"unknown bandwidth key", "bandwidth:\n  limit: 1gbps\n  burst: true\n", 3, "",
		`.lis-policy.yaml:3: unknown key "bandwidth.burst" (known keys of bandwidth: limit, priority_hours, burst_allowed)`},
	{"duplicate key", "replication: sync\nwrite_ack: local_only\nreplication: async_lazy\n", 3, "replication",
		`.lis-policy.yaml:3: replication: duplicate key (first set on line 1)`},
	{"duplicate bandwidth key", "bandwidth:\n  limit: 1gbps\n  limit: 2gbps\n", 3, "bandwidth.limit",
		`.lis-policy.yaml:3: bandwidth.limit: duplicate key (first set on line 2)`},
	{"non-scalar key", "[a]: 1\n", 1, "", `.lis-policy.yaml:1: keys must be plain names, got a list`},
	{"alias", "regions: &r [perth, london]\nbandwidth: *r\n", 2, "bandwidth",
		`.lis-policy.yaml:2: bandwidth: aliases (*r) are not supported in policy files`},
	{"alias in regions", "bandwidth: &p {}\nregions: [perth, *p]\n", 2, "regions",
		`.lis-policy.yaml:2: regions: aliases (*p) are not supported in policy files`},

	// Enumerations.
	{"unknown write_ack", "write_ack: fast\n", 1, "write_ack",
		`.lis-policy.yaml:1: write_ack: must be one of local_only, local_plus_one, geographic, got "fast"`},
	{"long value is cut in the message", "write_ack: " + strings.Repeat("é", 100) + "\n", 1, "write_ack",
		`.lis-policy.yaml:1: write_ack: must be one of local_only, local_plus_one, geographic, got "` + strings.Repeat("é", 20) + `"...`},
	{"write_ack list", "write_ack: [local_only]\n", 1, "write_ack",
		`.lis-policy.yaml:1: write_ack: must be one of local_only, local_plus_one, geographic, got a list`},
	{"write_ack missing value", "write_ack:\nreplication: sync\n", 1, "write_ack",
		`.lis-policy.yaml:1: write_ack: must be one of local_only, local_plus_one, geographic, got nothing`},
	{"enum is case-sensitive", "replication: SYNC\n", 1, "replication",
		`.lis-policy.yaml:1: replication: must be one of async_lazy, async_priority, sync, got "SYNC"`},
	{"replication mapping", "replication:\n  mode: sync\n", 2, "replication",
		`.lis-policy.yaml:2: replication: must be one of async_lazy, async_priority, sync, got a mapping`},

	// target_copies.
	{"copies word", "\n\ntarget_copies: zero\n", 3, "target_copies",
		`.lis-policy.yaml:3: target_copies: must be a positive integer or "N_per_region", got "zero"`},
	{"copies zero", "target_copies: 0\n", 1, "target_copies", `.lis-policy.yaml:1: target_copies: must be between 1 and 16, got 0`},
	{"copies too many", "target_copies: 17\n", 1, "target_copies", `.lis-policy.yaml:1: target_copies: must be between 1 and 16, got 17`},
	{"copies huge", "target_copies: 99999999999999999999999\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be between 1 and 16, got 99999999999999999999999`},
	{"copies negative", "target_copies: -1\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be a positive integer or "N_per_region", got "-1"`},
	{"copies float", "target_copies: 2.0\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be a positive integer or "N_per_region", got "2.0"`},
	{"copies hex", "target_copies: 0x2\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be a positive integer or "N_per_region", got "0x2"`},
	{"copies literal N", "target_copies: N_per_region\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be a positive integer or "N_per_region", got "N_per_region"`},
	{"zero per region", "target_copies: 0_per_region\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be between 1 and 16, got 0`},
	{"copies missing", "target_copies:\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: must be a positive integer or "N_per_region", got nothing`},

	// regions.
	{"regions scalar", "regions: perth\n", 1, "regions",
		`.lis-policy.yaml:1: regions: must be a list of region names, e.g. [perth, london], got "perth"`},
	{"bad region name", "regions:\n  - perth\n  - New York\n", 3, "regions[1]",
		`.lis-policy.yaml:3: regions[1]: region names are lower-case letters, digits, '-' and '_', starting with a letter, at most 63 long; got "New York"`},
	{"region list item", "regions: [[perth]]\n", 1, "regions[0]", `.lis-policy.yaml:1: regions[0]: must be a region name, got a list`},
	{"duplicate region", "target_copies: 3\nregions:\n  - perth\n  - london\n  - perth\n", 5, "regions[2]",
		`.lis-policy.yaml:5: regions[2]: "perth" is listed twice (also regions[0])`},
	{"too many regions", "target_copies: 16_per_region\nregions: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q]\n", 2, "regions",
		`.lis-policy.yaml:2: regions: at most 16 regions may be listed, got 17`},

	// Combinations.
	{"regions exceed copies", "target_copies: 2\nregions: [perth, london, tokyo]\n", 1, "target_copies",
		`.lis-policy.yaml:1: target_copies: 3 regions are listed but target_copies is 2: each listed region holds a copy, so use target_copies of at least 3, or "N_per_region"`},
	{"regions exceed default copies", "\nregions: [perth, london, tokyo]\n", 2, "regions",
		`.lis-policy.yaml:2: regions: 3 regions are listed but target_copies is 2: each listed region holds a copy, so use target_copies of at least 3, or "N_per_region"`},
	{"local_plus_one with one copy", "target_copies: 1\nwrite_ack: local_plus_one\n", 2, "write_ack",
		`.lis-policy.yaml:2: write_ack: local_plus_one needs at least 2 copies, but target_copies is 1`},
	{"geographic without regions", "replication: sync\nwrite_ack: geographic\ntarget_copies: 3\n", 2, "write_ack",
		`.lis-policy.yaml:2: write_ack: geographic needs copies in several regions: list at least two regions (regions: [perth, london]) or set target_copies to "N_per_region"`},
	{"geographic with one region", "write_ack: geographic\nregions: [perth]\n", 1, "write_ack",
		`.lis-policy.yaml:1: write_ack: geographic needs copies in several regions: list at least two regions (regions: [perth, london]) or set target_copies to "N_per_region"`},

	// bandwidth.
	{"bandwidth scalar", "bandwidth: 100mbps\n", 1, "bandwidth",
		`.lis-policy.yaml:1: bandwidth: must be a mapping with keys limit, priority_hours, burst_allowed, got "100mbps"`},
	{"bandwidth empty", "bandwidth:\n", 1, "bandwidth",
		`.lis-policy.yaml:1: bandwidth: must be a mapping with keys limit, priority_hours, burst_allowed, got nothing`},
	{"limit without unit", "bandwidth:\n  limit: 100\n", 2, "bandwidth.limit",
		`.lis-policy.yaml:2: bandwidth.limit: "100" has no unit ` + units},
	{"limit ambiguous unit", "bandwidth:\n  limit: 100MBps\n", 2, "bandwidth.limit",
		`.lis-policy.yaml:2: bandwidth.limit: unknown unit "MBps" in "100MBps" ` + units},
	{"limit garbage", "bandwidth:\n  limit: fast\n", 2, "bandwidth.limit",
		`.lis-policy.yaml:2: bandwidth.limit: must be a rate such as 100mbps or 12.5MB/s, got "fast" (units: bps, kbps, mbps, gbps for bits/s; B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s for bytes/s; or "unlimited")`},
	{"limit negative", "bandwidth:\n  limit: -5mbps\n", 2, "bandwidth.limit",
		`.lis-policy.yaml:2: bandwidth.limit: must be a rate such as 100mbps or 12.5MB/s, got "-5mbps" (units: bps, kbps, mbps, gbps for bits/s; B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s for bytes/s; or "unlimited")`},
	{"limit zero", "bandwidth:\n  limit: 0mbps\n", 2, "bandwidth.limit", `.lis-policy.yaml:2: bandwidth.limit: "0mbps" is less than 1 B/s`},
	{"limit too small", "bandwidth:\n  limit: 3bps\n", 2, "bandwidth.limit", `.lis-policy.yaml:2: bandwidth.limit: "3bps" is less than 1 B/s`},
	{"limit too large", "bandwidth:\n  limit: 9000gbps\n", 2, "bandwidth.limit", `.lis-policy.yaml:2: bandwidth.limit: "9000gbps" is more than the 1 TB/s maximum`},
	{"limit list", "bandwidth:\n  limit: [1gbps]\n", 2, "bandwidth.limit",
		`.lis-policy.yaml:2: bandwidth.limit: must be a rate such as 100mbps or "unlimited", got a list`},
	{"hours without minutes", "bandwidth:\n  priority_hours: 22-06\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: must be "HH:MM-HH:MM" (24-hour clock, e.g. "22:00-06:00"), got "22-06"`},
	{"hours one digit", "bandwidth:\n  priority_hours: 9:00-17:00\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: must be "HH:MM-HH:MM" (24-hour clock, e.g. "22:00-06:00"), got "9:00-17:00"`},
	{"hours start 24:00", "bandwidth:\n  priority_hours: 24:00-06:00\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: start 24:00 is not a time of day (00:00 to 23:59)`},
	{"hours end minutes", "bandwidth:\n  priority_hours: 22:00-06:60\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: end 06:60 is not a time of day (00:00 to 24:00)`},
	{"hours end past 24", "bandwidth:\n  priority_hours: 22:00-24:01\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: end 24:01 is not a time of day (00:00 to 24:00)`},
	{"hours empty window", "bandwidth:\n  priority_hours: 06:00-06:00\n", 2, "bandwidth.priority_hours",
		`.lis-policy.yaml:2: bandwidth.priority_hours: start and end are equal: omit priority_hours for no window, or use 00:00-24:00 for all day`},
	{"burst yes", "bandwidth:\n  burst_allowed: yes\n", 2, "bandwidth.burst_allowed",
		`.lis-policy.yaml:2: bandwidth.burst_allowed: must be true or false, got "yes"`},
	{"burst quoted", "bandwidth:\n  burst_allowed: \"true\"\n", 2, "bandwidth.burst_allowed",
		`.lis-policy.yaml:2: bandwidth.burst_allowed: must be true or false, got "true"`},
	{"burst 1", "bandwidth:\n  burst_allowed: 1\n", 2, "bandwidth.burst_allowed",
		`.lis-policy.yaml:2: bandwidth.burst_allowed: must be true or false, got "1"`},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.yaml))
			require.Error(t, err, "parsed as %v", p)
			require.Zero(t, p)
			require.Equal(t, c.err, err.Error())
			require.ErrorIs(t, err, syscall.EINVAL)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			require.Equal(t, c.line, pe.Line)
			require.Equal(t, c.field, pe.Field)
			if c.line > 0 && c.field != "" {
				require.Positive(t, pe.Column)
			}
		})
	}
}

func TestParseErrorColumn(t *testing.T) {
	_, err := Parse([]byte("bandwidth:\n  limit: 100\n"))
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, ParseError{Line: 2, Column: 10, Field: "bandwidth.limit", Msg: pe.Msg}, *pe)
}
