package pjdfstest

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tcase is one fact of the suite: after setup, op returns want (0 for
// success) and the checks hold. It is a pjdfstest "expect" line plus the
// attribute assertions that follow it upstream.
type tcase struct {
	name  string
	setup []string   // lines run before op, in order; each must succeed
	prep  func(*env) // Go setup after the lines, for what a line cannot say
	op    string     // the line under test
	want  syscall.Errno
	alt   []syscall.Errno // further errnos POSIX allows for this op
	check []check
	skip  string // non-empty: why the case does not apply (reported as a skip)
	// ro runs the op in the read-only volume (see readOnlyFixture)
	// instead of a fresh directory; such a case has no setup.
	ro bool
}

// check is an assertion on attributes after the op. Checks that compare
// with the state before the op name the paths to record.
type check struct {
	snap  []string // paths recorded before the op
	times bool     // compares timestamps: the op must come a clock tick later
	fn    func(*env)
}

// clockTick separates a case's op from its setup when timestamps are
// compared. Times the kernel stamps itself (with the writeback cache, on
// truncate and write) come from its coarse clock, which lags the
// nanosecond clock of the metaservice by up to a scheduler tick (4 ms at
// HZ=250, 10 ms at HZ=100); without the gap a "ctime changed" check could
// see the new time fall before the old one.
const clockTick = 15 * time.Millisecond

// runCases runs each case as a parallel subtest in a fresh directory of
// the shared mount.
func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	needSuite(t)
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.skip != "" {
				t.Skip(c.skip)
			}
			skipKnownBug(t)
			if c.ro {
				runCase(t, readOnlyEnv(t), c)
				return
			}
			runCase(t, newEnv(t, suite.root), c)
		})
	}
}

// runCase runs c in e.
func runCase(t *testing.T, e *env, c tcase) {
	t.Helper()
	e.must(c.setup...)
	if c.prep != nil {
		c.prep(e)
	}
	tick := false
	for _, ch := range c.check {
		for _, p := range ch.snap {
			e.snapshot(p)
		}
		tick = tick || ch.times
	}
	if tick {
		time.Sleep(clockTick)
	}
	got := e.do(c.op)
	if got != c.want && !slices.Contains(c.alt, got) {
		want := []string{errnoName(c.want)}
		for _, a := range c.alt {
			want = append(want, errnoName(a))
		}
		t.Fatalf("%q: got %s, want %s", c.op, errnoName(got), strings.Join(want, " or "))
	}
	for _, ch := range c.check {
		ch.fn(e)
	}
}
