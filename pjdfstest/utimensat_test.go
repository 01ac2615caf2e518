package pjdfstest

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestUtimensat covers utimensat(2) (upstream tests/utimensat): explicit
// times to the nanosecond, UTIME_NOW and UTIME_OMIT, AT_SYMLINK_NOFOLLOW,
// and who may set what: the owner any time, a writer only "now".
func TestUtimensat(t *testing.T) {
	const (
		y2030 = "1900000000 123456789 1950000000 987654321"
		// Past 2262, where a signed 64-bit count of nanoseconds ends.
		y2400 = "13569465600 1 13569465600 2"
	)
	runCases(t, cases(
		[]tcase{
			{name: "sets both", setup: []string{"create n0 0644"}, op: "utimensat n0 " + y2030 + " 0",
				check: []check{stampIs(atime, "n0", 1900000000, 123456789), stampIs(mtime, "n0", 1950000000, 987654321),
					changed(ctime, "n0")}},
			{name: "directory", setup: []string{"mkdir n0 0755"}, op: "utimensat n0 " + y2030 + " 0",
				check: []check{stampIs(mtime, "n0", 1950000000, 987654321)}},
			{name: "fifo", setup: []string{"mkfifo n0 0644"}, op: "utimensat n0 " + y2030 + " 0",
				check: []check{stampIs(atime, "n0", 1900000000, 123456789)}},
			{name: "UTIME_NOW", setup: []string{"create n0 0644"}, op: "utimensat n0 0 UTIME_NOW 0 UTIME_NOW 0",
				check: []check{stampNow(atime, "n0"), stampNow(mtime, "n0"), changed(ctime, "n0")}},
			{name: "NULL", setup: []string{"create n0 0644"}, op: "utimensat_null n0 0",
				check: []check{stampNow(atime, "n0"), stampNow(mtime, "n0")}},
			{name: "UTIME_OMIT both", setup: []string{"create n0 0644"}, op: "utimensat n0 1 UTIME_OMIT 1 UTIME_OMIT 0",
				check: keptAll("n0")},
			{name: "UTIME_OMIT atime", setup: []string{"create n0 0644"},
				op: "utimensat n0 1 UTIME_OMIT 1950000000 5 0", check: []check{kept(atime, "n0"),
					stampIs(mtime, "n0", 1950000000, 5), changed(ctime, "n0")}},
			{name: "UTIME_OMIT mtime", setup: []string{"create n0 0644"},
				op: "utimensat n0 1900000000 7 1 UTIME_OMIT 0", check: []check{stampIs(atime, "n0", 1900000000, 7),
					kept(mtime, "n0")}},
			{name: "UTIME_NOW atime only", setup: []string{"create n0 0644"},
				op: "utimensat n0 0 UTIME_NOW 1950000000 0 0", check: []check{stampNow(atime, "n0"),
					stampIs(mtime, "n0", 1950000000, 0)}},
			{name: "before the epoch", setup: []string{"create n0 0644"}, op: "utimensat n0 -2 500000000 -1 0 0",
				check: []check{stampIs(atime, "n0", -2, 500000000), stampIs(mtime, "n0", -1, 0)}},
			// A file system may clamp a time it cannot hold to its latest
			// (Linux's local file systems do), but must not wrap it.
			{name: "year 2400", setup: []string{"create n0 0644"}, op: "utimensat n0 " + y2400 + " 0",
				check: []check{checkFn(func(e *env) {
					st := e.lstat("n0")
					const y2262 = 9214646400
					for _, ts := range []unix.Timespec{st.Atim, st.Mtim} {
						assert.True(e.t, ts.Sec >= y2262 && ts.Sec <= 13569465600, "time %v is 13569465600 or clamped", ts)
					}
					if st.Mtim.Sec == 13569465600 {
						assert.Equal(e.t, unix.Timespec{Sec: 13569465600, Nsec: 2}, st.Mtim)
					}
				})}},
			{name: "follows symlink", setup: []string{"create n0 0644", "symlink n0 n1"},
				op: "utimensat n1 " + y2030 + " 0", check: []check{stampIs(mtime, "n0", 1950000000, 987654321)}},
			{name: "AT_SYMLINK_NOFOLLOW", setup: []string{"create n0 0644", "symlink n0 n1"},
				op:    "utimensat n1 " + y2030 + " AT_SYMLINK_NOFOLLOW",
				check: []check{stampIs(mtime, "n1", 1950000000, 987654321), kept(mtime, "n0")}},
			// Permissions: explicit times need ownership; "now" needs
			// ownership or write permission.
			{name: "owner explicit", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " utimensat n0 " + y2030 + " 0", check: []check{stampIs(mtime, "n0", 1950000000, 987654321)}},
			{name: "owner now without write permission", setup: []string{"create n0 0444", "chown n0 65534 65534"},
				op: asOwner + " utimensat n0 0 UTIME_NOW 0 UTIME_NOW 0", check: []check{stampNow(mtime, "n0")}},
			{name: "writer now", setup: []string{"create n0 0644", "chmod n0 0666"},
				op: asOther + " utimensat n0 0 UTIME_NOW 0 UTIME_NOW 0", check: []check{stampNow(mtime, "n0")}},
			{name: "writer NULL", setup: []string{"create n0 0644", "chmod n0 0666"},
				op: asOther + " utimensat_null n0 0", check: []check{stampNow(mtime, "n0")}},
			// POSIX: anything but both UTIME_NOW (or both UTIME_OMIT)
			// needs ownership, even when the only time set is "now".
			{name: "EPERM writer now and omit", setup: []string{"create n0 0644", "chmod n0 0666"},
				op: asOther + " utimensat n0 0 UTIME_OMIT 0 UTIME_NOW 0", want: syscall.EPERM, check: keptAll("n0")},
			{name: "EPERM writer explicit", setup: []string{"create n0 0644", "chmod n0 0666"},
				op: asOther + " utimensat n0 " + y2030 + " 0", want: syscall.EPERM, check: keptAll("n0")},
			{name: "EACCES non-writer now", setup: []string{"create n0 0644"},
				op: asOther + " utimensat n0 0 UTIME_NOW 0 UTIME_NOW 0", want: syscall.EACCES, check: keptAll("n0")},
			{name: "EACCES non-writer NULL", setup: []string{"create n0 0644"},
				op: asOther + " utimensat_null n0 0", want: syscall.EACCES},
			{name: "EPERM non-writer explicit", setup: []string{"create n0 0644"},
				op: asOther + " utimensat n0 " + y2030 + " 0", want: syscall.EPERM},
			{name: "root explicit", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: "utimensat n0 " + y2030 + " 0", check: []check{stampIs(atime, "n0", 1900000000, 123456789)}},
			{name: "EINVAL nanoseconds", setup: []string{"create n0 0644"}, op: "utimensat n0 0 1000000000 0 0 0",
				want: syscall.EINVAL, check: keptAll("n0")},
			{name: "EROFS", ro: true, op: "utimensat f " + y2030 + " 0", want: syscall.EROFS},
		},
		prefixed("path ", pathErrors("utimensat %s 0 0 0 0 0", true)),
	))
}
