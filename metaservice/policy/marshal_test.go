package policy

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarshalCanonical(t *testing.T) {
	b, err := Default().Marshal()
	require.NoError(t, err)
	require.Equal(t, `write_ack: local_plus_one
replication: async_priority
target_copies: 2
bandwidth:
  limit: unlimited
  burst_allowed: false
`, string(b))

	full := Policy{
		WriteAck: Geographic, Replication: Sync, TargetCopies: 3, PerRegion: true,
		Regions:   []string{"perth", "london", "true", "no"},
		Bandwidth: Bandwidth{LimitBytesPerSec: 12_500_000, PriorityHours: hours(22*60, 6*60), BurstAllowed: true},
	}
	b, err = full.Marshal()
	require.NoError(t, err)
	// Region names YAML would read as another type are quoted.
	require.Equal(t, `write_ack: geographic
replication: sync
target_copies: "3_per_region"
regions: [perth, london, "true", no]
bandwidth:
  limit: 100mbps
  priority_hours: "22:00-06:00"
  burst_allowed: true
`, string(b))
	back, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, full, back)
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, c := range validCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.want.Marshal()
			require.NoError(t, err)
			p, err := Parse(b)
			require.NoError(t, err, "canonical form:\n%s", b)
			require.Equal(t, c.want, p)
			b2, err := p.Marshal()
			require.NoError(t, err)
			require.Equal(t, string(b), string(b2))
		})
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	_, err := Policy{}.Marshal()
	require.ErrorIs(t, err, syscall.EINVAL)
	require.EqualError(t, err, `.lis-policy.yaml: write_ack: must be one of local_only, local_plus_one, geographic, got ""`)
}

func TestEncodeDecode(t *testing.T) {
	for _, c := range validCases {
		t.Run(c.name, func(t *testing.T) {
			b := c.want.Encode()
			p, err := Decode(b)
			require.NoError(t, err)
			require.Equal(t, c.want, p)
			require.True(t, c.want.Equal(p))
		})
	}
	// The stored form is compact: the design example takes about 50 bytes
	// (its YAML takes 200).
	require.Less(t, len(validCases[0].want.Encode()), 64)
}

func TestDecodeErrors(t *testing.T) {
	valid := Default().Encode()
	cases := map[string][]byte{
		"empty":              nil,
		"unknown version":    append([]byte{9}, valid[1:]...),
		"truncated":          valid[:len(valid)-1],
		"not msgpack":        {encodingVersion, 0xc1},
		"invalid policy":     Policy{WriteAck: "fast", Replication: Sync, TargetCopies: 2}.Encode(),
		"too many copies":    Policy{WriteAck: LocalOnly, Replication: Sync, TargetCopies: 17}.Encode(),
		"hours out of range": Policy{WriteAck: LocalOnly, Replication: Sync, TargetCopies: 1, Bandwidth: Bandwidth{PriorityHours: hours(0, 2000)}}.Encode(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := Decode(b)
			require.ErrorIs(t, err, syscall.EINVAL)
			require.Zero(t, p)
		})
	}
}
