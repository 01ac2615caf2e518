package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDataserverWarnings: what lis status warns about one dataserver.
func TestDataserverWarnings(t *testing.T) {
	fault := "journal failed (restart to recover): fdatasync /d/journal/1.seg: input/output error"
	cases := []struct {
		name string
		d    dataserverReport
		want []string
	}{
		{"healthy", dataserverReport{ID: "a", State: "up"}, nil},
		{"danger", dataserverReport{ID: "a", State: "up", DangerBytes: 3 << 20},
			[]string{"WARNING: 3.0 MiB exists only on a"}},
		{"down with data", dataserverReport{ID: "a", State: "down", DangerBytes: 1 << 20, LastHeartbeatSeconds: 90},
			[]string{"LOST: 1.0 MiB exists only on a, which is down"}},
		{"fault", dataserverReport{ID: "a", State: "up", Fault: fault},
			[]string{"FAULT: dataserver a: " + fault}},
		{"suspect with a fault", dataserverReport{ID: "a", State: "suspect", Fault: fault, LastHeartbeatSeconds: 12},
			[]string{"WARNING: dataserver a is suspect (silent 12 s)", "FAULT: dataserver a: " + fault}},
		{"down: its last fault is old news", dataserverReport{ID: "a", State: "down", Fault: fault, LastHeartbeatSeconds: 61},
			[]string{"WARNING: dataserver a is down (silent 1 min 1 s)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, dataserverWarnings(c.d))
		})
	}
}
