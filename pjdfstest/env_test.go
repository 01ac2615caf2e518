package pjdfstest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// env is one case's directory and the means to run lines in it.
type env struct {
	t      *testing.T
	dir    string // absolute path of the case directory
	in     *interp
	before map[string]unix.Stat_t // attributes recorded before the op
}

var caseSeq atomic.Int64

// newEnv makes a fresh directory (root's, 0755, as pjdfstest's working
// directory is) under root and returns its env. The directory is left in
// place: the volume is thrown away after the run, and a failed case's
// files are worth looking at.
func newEnv(t *testing.T, root string) *env {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprintf("c%05d", caseSeq.Add(1)))
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755)) // whatever the umask
	return envAt(t, dir)
}

// envAt returns an env for an existing directory.
func envAt(t *testing.T, dir string) *env {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return &env{t: t, dir: dir, in: &interp{dir: fd}, before: map[string]unix.Stat_t{}}
}

// do runs one line and returns its errno.
func (e *env) do(text string) syscall.Errno {
	e.t.Helper()
	l, err := parseLine(text)
	require.NoError(e.t, err)
	if !l.child() {
		return e.in.runLine(l)
	}
	errno, err := runInHelper(e.dir, l)
	require.NoError(e.t, err)
	return errno
}

// must runs lines that set a case up; each has to succeed.
func (e *env) must(lines ...string) {
	e.t.Helper()
	for _, text := range lines {
		if errno := e.do(text); errno != 0 {
			e.t.Fatalf("setup %q: %s (%v)", text, errnoName(errno), errno)
		}
	}
}

// lstat returns the attributes of path (relative to the case directory)
// without following a final symlink.
func (e *env) lstat(path string) unix.Stat_t {
	e.t.Helper()
	var st unix.Stat_t
	require.NoError(e.t, unix.Fstatat(e.in.dir, path, &st, unix.AT_SYMLINK_NOFOLLOW), "lstat %s", path)
	return st
}

// exists reports whether path names anything (a dangling symlink too).
func (e *env) exists(path string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(e.in.dir, path, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil && err != unix.ENOENT {
		e.t.Fatalf("lstat %s: %v", path, err)
	}
	return err == nil
}

// snapshot records path's attributes for the checks that compare.
func (e *env) snapshot(path string) { e.before[path] = e.lstat(path) }

func errnoName(errno syscall.Errno) string {
	if errno == 0 {
		return "success"
	}
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(errno))
}
