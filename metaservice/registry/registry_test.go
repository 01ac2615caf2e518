package registry

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLiveness(t *testing.T) {
	to := Timeouts{Suspect: 10 * time.Second, Down: time.Minute}
	now := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		silent time.Duration
		want   Liveness
	}{{0, Up}, {9 * time.Second, Up}, {10 * time.Second, Suspect}, {59 * time.Second, Suspect}, {time.Minute, Down}, {-time.Second, Up}} {
		d := &Dataserver{LastBeat: now.Add(-c.silent).UnixNano()}
		require.Equal(t, c.want, to.Liveness(d, now), "silent %s", c.silent)
	}
	require.Equal(t, Timeouts{Suspect: 10 * time.Second, Down: time.Minute}, Timeouts{}.WithDefaults())
	require.Equal(t, 30*time.Second, Timeouts{Suspect: 30 * time.Second, Down: time.Second}.WithDefaults().Down, "down is never before suspect")
}

func TestAdmit(t *testing.T) {
	to := Timeouts{}.WithDefaults()
	t0 := time.Unix(1_000_000, 0)
	hb := Heartbeat{ID: "perth-1", Addr: "10.0.0.1:7301", Site: "perth", Region: "au", Capacity: 100, Free: 60}
	d, err := to.Admit(nil, hb, t0)
	require.NoError(t, err)
	require.Equal(t, t0.UnixNano(), d.Registered)

	// The same dataserver beats again: registration time stays.
	d2, err := to.Admit(d, hb, t0.Add(2*time.Second))
	require.NoError(t, err)
	require.Equal(t, t0.UnixNano(), d2.Registered)
	require.Equal(t, t0.Add(2*time.Second).UnixNano(), d2.LastBeat)

	// Another address while it lives (up or suspect) is refused, saying who holds it.
	other := hb
	other.Addr = "10.0.0.9:7301"
	for _, at := range []time.Duration{3 * time.Second, 30 * time.Second} {
		_, err = to.Admit(d2, other, t0.Add(at))
		var taken *ErrTaken
		require.True(t, errors.As(err, &taken), "%v", err)
		require.Contains(t, err.Error(), "held by a live dataserver at 10.0.0.1:7301")
		require.Contains(t, err.Error(), "refusing it to 10.0.0.9:7301")
	}
	// Once it is down, a host that moved may take the ID.
	d3, err := to.Admit(d2, other, t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, "10.0.0.9:7301", d3.Addr)
	require.Equal(t, t0.Add(2*time.Minute).UnixNano(), d3.Registered)

	for _, bad := range []Heartbeat{{ID: "", Addr: "a:1"}, {ID: "a b", Addr: "a:1"}, {ID: "x", Addr: ""}, {ID: "x", Addr: "a:1", Free: -1},
		{ID: "x", Addr: "a:1", Site: "Bad Site!"}, {ID: "x", Addr: "a:1", Region: "EU"}} {
		_, err := to.Admit(nil, bad, t0)
		require.Error(t, err, "%+v", bad)
	}
}
