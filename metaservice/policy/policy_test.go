package policy

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefault(t *testing.T) {
	d := Default()
	require.NoError(t, d.Validate())
	require.Equal(t, Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 2}, d)
	require.Equal(t, "write_ack=local_plus_one replication=async_priority copies=2", d.String())
}

func TestValidate(t *testing.T) {
	base := Default
	cases := []struct {
		name  string
		edit  func(p *Policy)
		field string
	}{
		{"unknown write_ack", func(p *Policy) { p.WriteAck = "x" }, "write_ack"},
		{"unknown replication", func(p *Policy) { p.Replication = "" }, "replication"},
		{"no copies", func(p *Policy) { p.TargetCopies = 0 }, "target_copies"},
		{"too many copies", func(p *Policy) { p.TargetCopies = MaxCopies + 1 }, "target_copies"},
		{"empty non-nil regions", func(p *Policy) { p.Regions = []string{} }, "regions"},
		{"bad region", func(p *Policy) { p.Regions = []string{"Perth"} }, "regions[0]"},
		{"duplicate region", func(p *Policy) { p.TargetCopies = 3; p.Regions = []string{"a", "b", "a"} }, "regions[2]"},
		{"regions beyond copies", func(p *Policy) { p.Regions = []string{"a", "b", "c"} }, "target_copies"},
		{"local_plus_one alone", func(p *Policy) { p.TargetCopies = 1 }, "write_ack"},
		{"geographic without regions", func(p *Policy) { p.WriteAck = Geographic }, "write_ack"},
		{"negative limit", func(p *Policy) { p.Bandwidth.LimitBytesPerSec = -1 }, "bandwidth.limit"},
		{"limit too high", func(p *Policy) { p.Bandwidth.LimitBytesPerSec = MaxLimitBytesPerSec + 1 }, "bandwidth.limit"},
		{"hours out of range", func(p *Policy) { p.Bandwidth.PriorityHours = hours(-1, 10) }, "bandwidth.priority_hours"},
		{"empty window", func(p *Policy) { p.Bandwidth.PriorityHours = hours(10, 10) }, "bandwidth.priority_hours"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base()
			c.edit(&p)
			err := p.Validate()
			require.ErrorIs(t, err, syscall.EINVAL)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, c.field, pe.Field)
			require.Zero(t, pe.Line)
		})
	}
	ok := []Policy{
		{WriteAck: Geographic, Replication: Sync, TargetCopies: 1, PerRegion: true},
		{WriteAck: LocalOnly, Replication: AsyncLazy, TargetCopies: 1},
		{WriteAck: LocalPlusOne, Replication: AsyncLazy, TargetCopies: 1, PerRegion: true, Regions: []string{"a", "b", "c"}},
		{WriteAck: Geographic, Replication: AsyncPriority, TargetCopies: 16, Regions: []string{"a", "b"},
			Bandwidth: Bandwidth{LimitBytesPerSec: 1, PriorityHours: hours(1439, 0)}},
	}
	for _, p := range ok {
		require.NoError(t, p.Validate(), "%v", p)
	}
}

func TestEqual(t *testing.T) {
	a := Policy{WriteAck: Geographic, Replication: Sync, TargetCopies: 2, Regions: []string{"a", "b"},
		Bandwidth: Bandwidth{LimitBytesPerSec: 5, PriorityHours: hours(1, 2), BurstAllowed: true}}
	same := a
	same.Regions = []string{"a", "b"}
	same.Bandwidth.PriorityHours = hours(1, 2)
	require.True(t, a.Equal(same))

	for name, edit := range map[string]func(p *Policy){
		"write_ack":    func(p *Policy) { p.WriteAck = LocalOnly },
		"replication":  func(p *Policy) { p.Replication = AsyncLazy },
		"copies":       func(p *Policy) { p.TargetCopies = 3 },
		"per region":   func(p *Policy) { p.PerRegion = true },
		"region order": func(p *Policy) { p.Regions = []string{"b", "a"} },
		"no regions":   func(p *Policy) { p.Regions = nil },
		"limit":        func(p *Policy) { p.Bandwidth.LimitBytesPerSec = 6 },
		"no hours":     func(p *Policy) { p.Bandwidth.PriorityHours = nil },
		"other hours":  func(p *Policy) { p.Bandwidth.PriorityHours = hours(1, 3) },
		"burst":        func(p *Policy) { p.Bandwidth.BurstAllowed = false },
	} {
		b := same
		b.Bandwidth.PriorityHours = hours(1, 2)
		edit(&b)
		require.False(t, a.Equal(b), name)
		require.False(t, b.Equal(a), name)
	}
}

func TestString(t *testing.T) {
	p := Policy{WriteAck: Geographic, Replication: Sync, TargetCopies: 2, PerRegion: true, Regions: []string{"perth", "london"},
		Bandwidth: Bandwidth{LimitBytesPerSec: 12_500_000, PriorityHours: hours(22*60, 6*60), BurstAllowed: true}}
	require.Equal(t, "write_ack=geographic replication=sync copies=2_per_region regions=perth,london limit=100mbps priority_hours=22:00-06:00 burst_allowed", p.String())
}
