package pjdfstest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
	"github.com/stretchr/testify/require"
)

// posixtestSkips are go-fuse posixtest cases that do not apply, with the
// reason. Anything not listed runs and must pass.
var posixtestSkips = map[string]string{
	// go-fuse's own TestAll skips it too ("TODO - fix this test"): both
	// descriptors belong to one process, and POSIX record locks of one
	// process never conflict, so EAGAIN cannot be expected on any file
	// system.
	"FcntlFlockLocksFile": "expects a POSIX lock to conflict with one of the same process (go-fuse's own run skips it)",
}

// posixtestReferenceSkips apply only when the suite runs in a reference
// directory instead of a Lis mount.
var posixtestReferenceSkips = map[string]string{
	// It tells a successful attack by /etc/passwd's device number being
	// the file system's own, which holds for a directory on the root
	// file system.
	"OpenSymlinkRace": "cannot tell an attack from a reference directory on /etc's file system",
}

// TestGoFusePosix runs go-fuse's reusable POSIX suite (posixtest.All) in
// fresh directories of the mount, as root.
func TestGoFusePosix(t *testing.T) {
	needSuite(t)
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if why, ok := posixtestSkips[name]; ok {
				t.Skip(why)
			}
			skipKnownBug(t)
			if why, ok := posixtestReferenceSkips[name]; ok && !suite.lis {
				t.Skip(why)
			}
			dir := filepath.Join(suite.root, fmt.Sprintf("posixtest-%s-%d", name, caseSeq.Add(1)))
			require.NoError(t, os.Mkdir(dir, 0o755))
			posixtest.All[name](t, dir)
		})
	}
}
