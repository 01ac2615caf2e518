package pjdfstest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/fs"
)

// TestUpstreamPjdfstest runs an installed upstream pjdfstest on a fresh
// volume when LIS_PJDFSTEST_DIR names a built checkout;
// LIS_PJDFSTEST_TESTS (space-separated paths under tests/) narrows it. A
// full run takes longer than go test's default timeout: pass -timeout 60m.
func TestUpstreamPjdfstest(t *testing.T) {
	dir := os.Getenv(UpstreamEnv)
	if dir == "" {
		t.Skipf("set %s to a built upstream pjdfstest checkout to run it", UpstreamEnv)
	}
	needSuite(t)
	var out io.Writer
	if testing.Verbose() {
		out = os.Stdout
	}
	sum, err := RunUpstream(context.Background(), UpstreamConfig{
		Dir: dir, Tests: strings.Fields(os.Getenv("LIS_PJDFSTEST_TESTS")), Out: out,
		FS: fs.Options{WritebackCache: *writebackFlag},
	})
	require.NoError(t, err)
	t.Logf("upstream pjdfstest summary:\n%s", sum.Report)
	require.True(t, sum.Passed, "upstream pjdfstest failed; summary above")
}

// TestUpstreamChecksCheckout makes sure a directory that is not a built
// checkout is refused with a message that says what is missing.
func TestUpstreamChecksCheckout(t *testing.T) {
	empty := t.TempDir()
	_, err := RunUpstream(context.Background(), UpstreamConfig{Dir: empty})
	require.ErrorContains(t, err, "no tests directory")
	require.NoError(t, os.Mkdir(filepath.Join(empty, "tests"), 0o755))
	_, err = RunUpstream(context.Background(), UpstreamConfig{Dir: empty})
	require.ErrorContains(t, err, "is not built")
	_, err = RunUpstream(context.Background(), UpstreamConfig{})
	require.ErrorContains(t, err, UpstreamEnv)
}

// TestCollectSummary checks the summary taken from prove's output.
func TestCollectSummary(t *testing.T) {
	output := `/x/tests/chmod/00.t ..
ok 1
not ok 2
Failed 1/2 subtests
Test Summary Report
-------------------
/x/tests/chmod/00.t (Wstat: 0 Tests: 2 Failed: 1)
  Failed test:  2
Files=1, Tests=2,  0 wallclock secs
Result: FAIL
`
	var all strings.Builder
	got := collectSummary(strings.NewReader(output), &all)
	require.Equal(t, output, all.String(), "everything is passed on")
	require.Equal(t, output[strings.Index(output, "Test Summary"):], got)
	pass := "ok 1\nAll tests successful.\nFiles=1, Tests=1,  0 wallclock secs\nResult: PASS\n"
	require.Equal(t, "Files=1, Tests=1,  0 wallclock secs\nResult: PASS\n", collectSummary(strings.NewReader(pass), nil))
}
