package geosim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLinkDelayAndRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, c := range []struct {
		name  string
		p     LinkParams
		sizes []int
		gaps  []time.Duration // arrival offsets from t0
		want  []time.Duration // delivery offsets; -1 dropped
	}{
		{"delay only", LinkParams{Delay: 125 * time.Millisecond}, []int{1500, 1500}, []time.Duration{0, time.Millisecond},
			[]time.Duration{125 * time.Millisecond, 126 * time.Millisecond}},
		// 1 Mbit/s: 125 bytes take 1 ms; back to back they queue.
		{"rate queues", LinkParams{Delay: 10 * time.Millisecond, Rate: 1e6}, []int{125, 125, 125}, []time.Duration{0, 0, 0},
			[]time.Duration{11 * time.Millisecond, 12 * time.Millisecond, 13 * time.Millisecond}},
		{"idle link does not bank time", LinkParams{Rate: 1e6}, []int{125, 125}, []time.Duration{0, 5 * time.Millisecond},
			[]time.Duration{time.Millisecond, 6 * time.Millisecond}},
		// A 250-byte queue: the third back-to-back packet finds 250 bytes waiting.
		{"drop tail", LinkParams{Rate: 1e6, QueueBytes: 250}, []int{125, 125, 125}, []time.Duration{0, 0, 0},
			[]time.Duration{time.Millisecond, 2 * time.Millisecond, -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLinkModel(c.p, 1)
			for i, size := range c.sizes {
				at, ok := l.admit(t0.Add(c.gaps[i]), size)
				if c.want[i] < 0 {
					require.False(t, ok, "packet %d", i)
					continue
				}
				require.True(t, ok, "packet %d", i)
				require.Equal(t, c.want[i], at.Sub(t0), "packet %d", i)
			}
		})
	}
}

func TestLinkLossAndPartition(t *testing.T) {
	l := newLinkModel(LinkParams{Loss: 0.01}, 7)
	now := time.Unix(0, 0)
	for range 100_000 {
		l.admit(now, 100)
	}
	require.InDelta(t, 1000, l.stats.LossDrops, 150, "1%% loss of 100,000 packets")
	l.partitioned = true
	_, ok := l.admit(now, 100)
	require.False(t, ok)
	require.EqualValues(t, 1, l.stats.PartitionDrops)
}

func TestLinkFIFOWhenDelayDrops(t *testing.T) {
	l := newLinkModel(LinkParams{Delay: 100 * time.Millisecond}, 1)
	t0 := time.Unix(0, 0)
	first, _ := l.admit(t0, 10)
	l.p.Delay = time.Millisecond
	second, _ := l.admit(t0.Add(time.Millisecond), 10)
	require.False(t, second.Before(first), "a link never reorders")
}
