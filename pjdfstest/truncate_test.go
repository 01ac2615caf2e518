package pjdfstest

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTruncate covers truncate(2) and ftruncate(2) (upstream
// tests/truncate and tests/ftruncate).
func TestTruncate(t *testing.T) {
	const huge = 1 << 62
	runCases(t, cases(
		[]tcase{
			{name: "grows", setup: []string{"create n0 0644"}, op: "truncate n0 1234",
				check: all([]check{size("n0", 1234)}, changedCM("n0"))},
			{name: "shrinks", setup: []string{"create n0 0644"}, prep: writeFile("n0", "hello, world"),
				op: "truncate n0 5", check: all([]check{size("n0", 5), content("n0", "hello")}, changedCM("n0"))},
			{name: "grows with zeros", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
				op: "truncate n0 6", check: []check{content("n0", "abc\x00\x00\x00")}},
			{name: "follows symlink", setup: []string{"create n0 0644", "symlink n0 n1"}, op: "truncate n1 77",
				check: []check{size("n0", 77)}},
			{name: "ftruncate", setup: []string{"create n0 0644"}, op: "open n0 O_RDWR : ftruncate 0 567",
				check: all([]check{size("n0", 567)}, changedCM("n0"))},
			{name: "ftruncate shrinks", setup: []string{"create n0 0644"}, prep: writeFile("n0", "hello, world"),
				op: "open n0 O_WRONLY : ftruncate 0 4", check: []check{content("n0", "hell")}},
			// The descriptor carries the right to write, not the mode.
			{name: "ftruncate file created without permissions",
				setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op:    asOwner + " open n0/n1 O_CREAT,O_RDWR 0 : ftruncate 0 123",
				check: []check{size("n0/n1", 123), perm("n0/n1", 0), owner("n0/n1", 65534, 65534)}},
			{name: "owner", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " truncate n0 10", check: []check{size("n0", 10)}},
			{name: "non-owner with write permission", setup: []string{"create n0 0644", "chmod n0 0666"},
				op: asOther + " truncate n0 10", check: []check{size("n0", 10)}},
			{name: "root ignores mode", setup: []string{"create n0 0444"}, op: "truncate n0 10",
				check: []check{size("n0", 10)}},
			{name: "EACCES no write permission", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
				op: asOther + " truncate n0 0", want: syscall.EACCES,
				check: all([]check{size("n0", 3)}, keptCM("n0"))},
			{name: "EACCES owner without write bit", setup: []string{"create n0 0444", "chown n0 65534 65534"},
				op: asOwner + " truncate n0 0", want: syscall.EACCES},
			{name: "non-root clears setuid", setup: []string{"create n0 0644", "chmod n0 04777"},
				op: asOther + " truncate n0 10", check: []check{perm("n0", 0o777)}},
			{name: "EISDIR", setup: []string{"mkdir n0 0755"}, op: "truncate n0 0", want: syscall.EISDIR},
			{name: "EINVAL fifo", setup: []string{"mkfifo n0 0644"}, op: "truncate n0 0", want: syscall.EINVAL},
			{name: "EINVAL negative", setup: []string{"create n0 0644"}, op: "truncate n0 -1", want: syscall.EINVAL,
				check: []check{size("n0", 0)}},
			{name: "ftruncate EINVAL negative", setup: []string{"create n0 0644"},
				op: "open n0 O_RDWR : ftruncate 0 -1", want: syscall.EINVAL},
			{name: "ftruncate EINVAL read-only descriptor", setup: []string{"create n0 0644"},
				op: "open n0 O_RDONLY : ftruncate 0 10", want: syscall.EINVAL, alt: []syscall.Errno{syscall.EBADF},
				check: []check{size("n0", 0)}},
			{name: "ftruncate EINVAL directory", setup: []string{"mkdir n0 0755"},
				op: "open n0 O_RDONLY : ftruncate 0 10", want: syscall.EINVAL, alt: []syscall.Errno{syscall.EBADF}},
			// A file system may refuse a size it cannot hold (EFBIG) but must
			// not report another one.
			{name: "EFBIG or exact", setup: []string{"create n0 0644"}, op: "truncate n0 4611686018427387904",
				want: 0, alt: []syscall.Errno{syscall.EFBIG}, check: []check{checkFn(func(e *env) {
					if s := e.lstat("n0").Size; s != 0 {
						assert.Equal(e.t, int64(huge), s, "size of n0")
					}
				})}},
			{name: "ETXTBSY", prep: runExecutable("n0"), op: "truncate n0 0", want: syscall.ETXTBSY},
			{name: "EROFS", ro: true, op: "truncate f 0", want: syscall.EROFS},
			{name: "EROFS ftruncate", ro: true, op: "open f O_RDWR : ftruncate 0 0", want: syscall.EROFS},
		},
		prefixed("path ", pathErrors("truncate %s 0", true)),
	))
}
