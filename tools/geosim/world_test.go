package geosim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// needRoot skips a test that makes namespaces when not root.
func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("geosim needs root (network namespaces, TUN devices): skipped")
	}
}

// buildWorld builds spec for one test and removes it at the end.
func buildWorld(t *testing.T, spec Spec) *World {
	t.Helper()
	needRoot(t)
	if spec.Lis == "" {
		spec.Lis = lisBin
	}
	w, err := Build(context.Background(), spec)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, w)
		}
		require.NoError(t, w.Close())
		requireNoLeftovers(t)
	})
	return w
}

// requireNoLeftovers checks that no namespace of this process is left.
func requireNoLeftovers(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	require.NoError(t, err)
	require.NotContains(t, string(out), fmt.Sprintf("%s%d-", namePrefix, os.Getpid()))
}

// TestRouterCheck: the router between two sites gives the configured
// round trip within 2 %, and a TCP stream across it reaches its rate.
func TestRouterCheck(t *testing.T) {
	w := buildWorld(t, Spec{Sites: DefaultSites(1)[:2], Link: WAN})
	perth, london := w.Sites[0].Hosts[0], w.Sites[1].Hosts[0]
	rtts, err := w.Ping(context.Background(), perth, london, 10)
	require.NoError(t, err)
	med := Median(rtts)
	t.Logf("ping perth → london: median %v of %v", med, rtts)
	require.InEpsilon(t, float64(250*time.Millisecond), float64(med), 0.02)
	bps, err := w.Throughput(context.Background(), perth, london, 5*time.Second, 15*time.Second)
	require.NoError(t, err)
	t.Logf("TCP perth → london: %.0f Mbit/s", bps/1e6)
}
