package pjdfstest

import (
	"syscall"
	"testing"
)

// TestRmdir covers rmdir(2) (upstream tests/rmdir). Removing a mount
// point (EBUSY) is left out: the mount point of the suite's volume is not
// inside the volume.
func TestRmdir(t *testing.T) {
	sticky := []string{"mkdir n0 0755", "chmod n0 01777", "mkdir n0/n1 0755", "chown n0/n1 65534 65534"}
	runCases(t, cases(
		[]tcase{
			{name: "removes", setup: []string{"mkdir n0 0755"}, op: "rmdir n0",
				check: all([]check{gone("n0"), nlink(".", 2)}, changedCM("."))},
			{name: "nested", setup: []string{"mkdir n0 0755", "mkdir n0/n1 0755"}, op: "rmdir n0/n1",
				check: all([]check{gone("n0/n1"), nlink("n0", 2)}, changedCM("n0"))},
			// POSIX: the directory goes away when the last reference does.
			{name: "open directory stays valid", setup: []string{"mkdir n0 0755"},
				op: "open n0 O_RDONLY,O_DIRECTORY : rmdir n0 : fstat 0", check: []check{gone("n0")}},
			{name: "ENOTEMPTY file", setup: []string{"mkdir n0 0755", "create n0/n1 0644"}, op: "rmdir n0",
				want: syscall.ENOTEMPTY, alt: []syscall.Errno{syscall.EEXIST}, check: []check{exists("n0/n1")}},
			{name: "ENOTEMPTY directory", setup: []string{"mkdir n0 0755", "mkdir n0/n1 0755"}, op: "rmdir n0",
				want: syscall.ENOTEMPTY, alt: []syscall.Errno{syscall.EEXIST}},
			{name: "ENOTEMPTY after unlink is empty", setup: []string{"mkdir n0 0755", "create n0/n1 0644", "unlink n0/n1"},
				op: "rmdir n0", check: []check{gone("n0")}},
			{name: "ENOTDIR symlink to directory", setup: []string{"mkdir n0 0755", "symlink n0 n1"}, op: "rmdir n1",
				want: syscall.ENOTDIR, check: []check{exists("n0")}},
			{name: "EINVAL dot", setup: []string{"mkdir n0 0755"}, op: "rmdir n0/.", want: syscall.EINVAL},
			{name: "ENOTEMPTY dotdot", setup: []string{"mkdir n0 0755", "mkdir n0/n1 0755"}, op: "rmdir n0/n1/..",
				want: syscall.ENOTEMPTY, alt: []syscall.Errno{syscall.EEXIST, syscall.EBUSY, syscall.EINVAL}},
			{name: "ENOENT", op: "rmdir n0", want: syscall.ENOENT},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755", "mkdir n0/n1 0755", "chown n0/n1 65534 65534"},
				op: asOwner + " rmdir n0/n1", want: syscall.EACCES, check: []check{exists("n0/n1")}},
			{name: "sticky EPERM non-owner", setup: sticky, op: asOther + " rmdir n0/n1", want: syscall.EPERM,
				alt: []syscall.Errno{syscall.EACCES}, check: []check{exists("n0/n1")}},
			{name: "sticky owner", setup: sticky, op: asOwner + " rmdir n0/n1", check: []check{gone("n0/n1")}},
			{name: "sticky directory owner", setup: append(sticky, "chown n0 65533 65533"), op: asOther + " rmdir n0/n1",
				check: []check{gone("n0/n1")}},
			{name: "sticky root", setup: sticky, op: "rmdir n0/n1", check: []check{gone("n0/n1")}},
			{name: "EROFS", ro: true, op: "rmdir d", want: syscall.EROFS},
		},
		forKinds(append(append([]kind{}, nonDirs...), kLink), func(k kind) tcase {
			return tcase{name: "ENOTDIR", setup: []string{k.at("n0")}, op: "rmdir n0", want: syscall.ENOTDIR,
				check: []check{exists("n0")}}
		}),
		prefixed("path ", pathErrors("rmdir %s", false)),
	))
}
