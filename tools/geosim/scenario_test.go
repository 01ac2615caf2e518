package geosim

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"
)

var mtu = flag.Int("geosim.mtu", DefaultMTU, "MTU of the simulated links")
var keepLogs = flag.String("geosim.logs", "", "copy the daemons' logs to this directory")
var full = flag.Bool("geosim.full", false, "run the geosim scenarios at full size (1 GiB writes, 60 s partitions)")

// runScenario runs one scenario at the chosen scale and logs its report.
func runScenario(t *testing.T, name string) { runScenarioWithLoss(t, name, 0) }

// runScenarioWithLoss runs a scenario with packet loss on every long link.
func runScenarioWithLoss(t *testing.T, name string, loss float64) {
	needRoot(t)
	if lisBin == "" {
		t.Fatal("lis binary not built")
	}
	s, ok := Find(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	scale := Short
	if *full {
		scale = Full
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	r := &Report{Title: fmt.Sprintf("%s (%s, %g %% loss)", s.Title, scale.Name, 100*loss)}
	err := s.Run(ctx, Env{Lis: lisBin, Scale: scale, Logf: t.Logf, MTU: *mtu, KeepLogs: *keepLogs, Loss: loss}, r)
	t.Log("\n" + r.String())
	requireNoLeftovers(t)
	if err != nil {
		t.Fatal(err)
	}
}

func TestScenarioLocalSpeed(t *testing.T)         { runScenario(t, "local-speed") }
func TestScenarioReplication(t *testing.T)        { runScenario(t, "replication") }
func TestScenarioPartition(t *testing.T)          { runScenario(t, "partition") }
func TestScenarioBandwidth(t *testing.T)          { runScenario(t, "bandwidth") }
func TestScenarioRemoteRead(t *testing.T)         { runScenario(t, "remote-read") }
func TestScenarioLeases(t *testing.T)             { runScenario(t, "leases") }
func TestScenarioMetadata(t *testing.T)           { runScenario(t, "metadata") }
func TestScenarioHeal(t *testing.T)               { runScenario(t, "heal") }
func TestScenarioFailoverSynced(t *testing.T)     { runScenario(t, "failover-synced") }
func TestScenarioFailoverLocalOnly(t *testing.T)  { runScenario(t, "failover-local-only") }
func TestScenarioPartitionReconcile(t *testing.T) { runScenario(t, "partition-reconcile") }
func TestScenarioScrub(t *testing.T)              { runScenario(t, "scrub") }
func TestScenarioGC(t *testing.T)                 { runScenario(t, "gc") }
func TestScenarioOutage(t *testing.T)             { runScenario(t, "outage") }

// TestLossyLinks: with 1 % of packets lost on every long link, leases
// still move with one content, and replication still converges.
func TestLossyLinks(t *testing.T) {
	t.Run("leases", func(t *testing.T) { runScenarioWithLoss(t, "leases", 0.01) })
	t.Run("replication", func(t *testing.T) { runScenarioWithLoss(t, "replication", 0.01) })
}
