package dataserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestChangeMarksBehind(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var c changeMarks
	// Versions 1..3 in the first second (10 bytes each), 4 at +2 s, 5 at +5 s.
	c.note(1, 10, t0)
	c.note(2, 10, t0.Add(100*time.Millisecond))
	c.note(3, 10, t0.Add(900*time.Millisecond))
	c.note(4, 100, t0.Add(2*time.Second))
	c.note(5, 1000, t0.Add(5*time.Second))
	cases := []struct {
		name  string
		acked uint64
		want  lag
	}{
		{"current", 5, lag{exact: true}},
		{"lacks the last", 4, lag{bytes: 1000, since: t0.Add(5 * time.Second).UnixNano(), exact: true}},
		{"lacks two", 3, lag{bytes: 1100, since: t0.Add(2 * time.Second).UnixNano(), exact: true}},
		// Inside the first span: rounded up to its start.
		{"mid span", 1, lag{bytes: 1130, since: t0.UnixNano(), exact: true}},
		{"nothing", 0, lag{bytes: 1130, since: t0.UnixNano(), exact: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.behind(tc.acked, 5, 4096))
		})
	}
}

func TestChangeMarksOlderThanRemembered(t *testing.T) {
	var c changeMarks
	t0 := time.Unix(1000, 0)
	c.note(8, 10, t0)
	l := c.behind(3, 8, 5000)
	require.False(t, l.exact)
	require.Equal(t, int64(5000), l.bytes, "at least the chunk's size")
	require.Equal(t, t0.UnixNano(), l.since)
	var empty changeMarks
	require.Equal(t, lag{bytes: 77}, empty.behind(0, 2, 77), "no marks: size, age unknown")
}

func TestChangeMarksBounded(t *testing.T) {
	var c changeMarks
	t0 := time.Unix(1000, 0)
	for v := uint64(1); v <= 1000; v++ {
		c.note(v, 1, t0.Add(time.Duration(v)*time.Second))
	}
	require.Len(t, c.marks, maxChangeMarks)
	require.Equal(t, uint64(1), c.marks[0].version, "the oldest mark survives merging")
	for i := 1; i < len(c.marks); i++ {
		require.Less(t, c.marks[i-1].version, c.marks[i].version)
	}
	// A lag is never understated: whatever span acked+1 fell in.
	for acked := uint64(0); acked < 1000; acked += 37 {
		l := c.behind(acked, 1000, 0)
		require.GreaterOrEqual(t, l.bytes, int64(1000-acked))
		require.LessOrEqual(t, l.since, t0.Add(time.Duration(acked+1)*time.Second).UnixNano())
	}
}
