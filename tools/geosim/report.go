package geosim

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Scale sets the sizes of the scenarios: Short for CI, Full for the
// figures in the README.
type Scale struct {
	Name       string
	WriteBytes int64         // the big sequential write (scenarios 1, 2)
	SyncBytes  int64         // the same under geographic + sync, which pays a round trip per write
	Partition  time.Duration // how long a partition lasts (scenario 3)
	LimitBytes int64         // written under a bandwidth limit (scenario 4)
	ReadBytes  int64         // read from afar (scenario 5)
	Turns      int           // lease moves (scenario 6)
	Entries    int           // files in the directory listed from afar (scenario 7)
	TarDirs    int           // directories of 10 small files untarred from afar (scenario 7)
	HealBytes  int64         // held by the dataserver that is lost (scenario 8)
	FaultBytes int64         // the files of the fault scenarios (9 to 13)
	// OutageBytes is written at the primary while its peer is cut off
	// (scenario 14), past a journal limit of a sixth of it.
	OutageBytes int64
}

// Short is what CI runs.
var Short = Scale{Name: "short", WriteBytes: 64 << 20, SyncBytes: 4 << 20, Partition: 10 * time.Second,
	LimitBytes: 48 << 20, ReadBytes: 32 << 20, Turns: 6, Entries: 20, TarDirs: 1, HealBytes: 64 << 20,
	FaultBytes: 8 << 20, OutageBytes: 96 << 20}

// Full is the size.
var Full = Scale{Name: "full", WriteBytes: 1 << 30, SyncBytes: 64 << 20, Partition: 60 * time.Second,
	LimitBytes: 256 << 20, ReadBytes: 256 << 20, Turns: 20, Entries: 1000, TarDirs: 5, HealBytes: 2 << 30,
	FaultBytes: 256 << 20, OutageBytes: 1536 << 20}

// Env is what a scenario runs with.
type Env struct {
	Lis      string // the lis binary
	Scale    Scale
	Logf     func(format string, args ...any) // progress, for a person watching
	Loss     float64                          // packet loss on every inter-site link
	MTU      int                              // of every link; default DefaultMTU
	KeepLogs string                           // a directory to copy the daemons' logs to at the end
}

// Scenario is one geo behaviour, proved and measured.
type Scenario struct {
	Name  string
	Title string
	Run   func(ctx context.Context, env Env, r *Report) error
}

// Report holds a scenario's figures and the targets it was held to.
type Report struct {
	Title   string
	Figures [][2]string
	Targets []Target
}

// Target is a figure the issue sets a bound on; missing one is reported,
// not failed, as the figures of a shared 2-core machine vary from run to
// run (the scenario's functional checks are what fail it).
type Target struct {
	What string
	Met  bool
}

// Add records a figure.
func (r *Report) Add(name, format string, args ...any) {
	r.Figures = append(r.Figures, [2]string{name, fmt.Sprintf(format, args...)})
}

// Hold records whether a target was met.
func (r *Report) Hold(met bool, format string, args ...any) {
	r.Targets = append(r.Targets, Target{What: fmt.Sprintf(format, args...), Met: met})
}

// String renders the report for a person.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", r.Title)
	width := 0
	for _, f := range r.Figures {
		width = max(width, len(f[0]))
	}
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, f[0], f[1])
	}
	for _, t := range r.Targets {
		mark := "met   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(&b, "  target %s  %s\n", mark, t.What)
	}
	return b.String()
}

// Scenarios lists every scenario, in the order.
func Scenarios() []Scenario {
	return []Scenario{
		{"local-speed", "1. Local speed at a distance", localSpeed},
		{"replication", "2. Replication throughput", replicationThroughput},
		{"partition", "3. Partition and heal", partitionHeal},
		{"bandwidth", "4. Bandwidth limit and priority hours", bandwidthLimit},
		{"remote-read", "5. Reads at a distance", remoteRead},
		{"leases", "6. Leases across the world", leaseTurns},
		{"metadata", "7. Metadata at a distance", metadataDistance},
		{"heal", "8. A lost dataserver's copies made again", healLost},
		{"failover-synced", "9. A primary killed under local_plus_one: nothing fsynced is lost", failoverSynced},
		{"failover-local-only", "10. A primary killed under local_only: only the unreplicated tail is lost, and reported", failoverLocalOnly},
		{"partition-reconcile", "11. A partitioned dataserver returns: its stale copies reconciled, never served", partitionReconcile},
		{"scrub", "12. Flipped bytes on a replica's disk found and repaired", scrubRepair},
		{"gc", "13. Orphan chunks collected, and only they", garbageCollect},
		{"outage", "14. A long outage past the journal limit", longOutage},
	}
}

// Find returns the scenario named name.
func Find(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) * 8 / d.Seconds() / 1e6 }

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
