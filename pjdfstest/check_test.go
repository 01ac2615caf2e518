package pjdfstest

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The checks below are the attribute assertions of pjdfstest ("expect
// 0644 stat n0 mode", "test_check $ctime1 -lt $ctime2"), as values a case
// lists. Paths are relative to the case directory; none follows a final
// symlink.

func checkFn(fn func(e *env)) check { return check{fn: fn} }

// perm: the permission bits (07777) of path.
func perm(path string, want uint32) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, fmtMode(want), fmtMode(e.lstat(path).Mode&07777), "mode of %s", path)
	})
}

// ftype: the file type (S_IFMT bits) of path.
func ftype(path string, want uint32) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, fmtMode(want), fmtMode(e.lstat(path).Mode&unix.S_IFMT), "type of %s", path)
	})
}

func owner(path string, uid, gid uint32) check {
	return checkFn(func(e *env) {
		st := e.lstat(path)
		assert.Equal(e.t, [2]uint32{uid, gid}, [2]uint32{st.Uid, st.Gid}, "uid, gid of %s", path)
	})
}

func nlink(path string, want uint64) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, want, uint64(e.lstat(path).Nlink), "nlink of %s", path)
	})
}

func size(path string, want int64) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, want, e.lstat(path).Size, "size of %s", path)
	})
}

func exists(path string) check {
	return checkFn(func(e *env) { assert.True(e.t, e.exists(path), "%s exists", path) })
}

func gone(path string) check {
	return checkFn(func(e *env) { assert.False(e.t, e.exists(path), "%s is gone", path) })
}

// sameInode: a and b are one inode.
func sameInode(a, b string) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, e.lstat(a).Ino, e.lstat(b).Ino, "%s and %s are one inode", a, b)
	})
}

// inodeOf: path now is the inode that was at was before the op (a rename).
func inodeOf(path, was string) check {
	return check{snap: []string{was}, fn: func(e *env) {
		assert.Equal(e.t, e.before[was].Ino, e.lstat(path).Ino, "%s is the inode %s was", path, was)
	}}
}

func target(path, want string) check {
	return checkFn(func(e *env) {
		got, err := os.Readlink(filepath.Join(e.dir, path))
		if assert.NoError(e.t, err) {
			assert.Equal(e.t, want, got, "target of %s", path)
		}
	})
}

func rdev(path string, major, minor uint32) check {
	return checkFn(func(e *env) {
		r := e.lstat(path).Rdev
		assert.Equal(e.t, [2]uint32{major, minor}, [2]uint32{unix.Major(r), unix.Minor(r)}, "rdev of %s", path)
	})
}

func content(path, want string) check {
	return checkFn(func(e *env) {
		got, err := os.ReadFile(filepath.Join(e.dir, path))
		if assert.NoError(e.t, err) {
			assert.Equal(e.t, want, string(got), "content of %s", path)
		}
	})
}

// Timestamps. "changed" means strictly later, as pjdfstest's -lt.

type stamp int

const (
	atime stamp = iota
	mtime
	ctime
)

func (s stamp) String() string { return [...]string{"atime", "mtime", "ctime"}[s] }

func (s stamp) of(st unix.Stat_t) unix.Timespec {
	return [...]unix.Timespec{st.Atim, st.Mtim, st.Ctim}[s]
}

func later(a, b unix.Timespec) bool { return a.Sec > b.Sec || a.Sec == b.Sec && a.Nsec > b.Nsec }

// changed: the op moved path's s forward.
func changed(s stamp, path string) check { return changedFrom(s, path, path) }

// changedFrom: path's s is later than was's before the op (a rename: the
// inode had another name then).
func changedFrom(s stamp, path, was string) check {
	return check{snap: []string{was}, times: true, fn: func(e *env) {
		old, now := s.of(e.before[was]), s.of(e.lstat(path))
		assert.True(e.t, later(now, old), "%s of %s moved forward: was %v, now %v", s, path, old, now)
	}}
}

// kept: the op left path's s alone.
func kept(s stamp, path string) check {
	return check{snap: []string{path}, times: true, fn: func(e *env) {
		was, now := s.of(e.before[path]), s.of(e.lstat(path))
		assert.Equal(e.t, was, now, "%s of %s unchanged", s, path)
	}}
}

// stampIs: path's s is exactly sec.nsec.
func stampIs(s stamp, path string, sec, nsec int64) check {
	return checkFn(func(e *env) {
		assert.Equal(e.t, unix.Timespec{Sec: sec, Nsec: nsec}, s.of(e.lstat(path)), "%s of %s", s, path)
	})
}

// stampNow: path's s was set during the op (between the recorded time
// before it and the end of the checks).
func stampNow(s stamp, path string) check {
	return check{snap: []string{path}, times: true, fn: func(e *env) {
		was, now := s.of(e.before[path]), s.of(e.lstat(path))
		var clock unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &clock)
		assert.True(e.t, later(now, was) && !later(now, clock), "%s of %s set to now: was %v, now %v, clock %v",
			s, path, was, now, clock)
	}}
}

// Helpers to repeat a check over paths or stamps.

func all(checks ...[]check) []check {
	var out []check
	for _, c := range checks {
		out = append(out, c...)
	}
	return out
}

func changedCM(path string) []check { return []check{changed(ctime, path), changed(mtime, path)} }
func keptCM(path string) []check    { return []check{kept(ctime, path), kept(mtime, path)} }
func keptAll(path string) []check {
	return []check{kept(ctime, path), kept(mtime, path), kept(atime, path)}
}

func fmtMode(m uint32) string { return "0" + strconv.FormatUint(uint64(m), 8) }
