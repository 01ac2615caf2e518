package pjdfstest

import (
	"syscall"
	"testing"
)

// TestUnlink covers unlink(2) (upstream tests/unlink).
func TestUnlink(t *testing.T) {
	sticky := []string{"mkdir n0 0755", "chmod n0 01777", "create n0/n1 0644", "chown n0/n1 65534 65534"}
	runCases(t, cases(
		forKinds(append(append([]kind{}, nonDirs...), kLink), func(k kind) tcase {
			return tcase{name: "removes", setup: []string{k.at("n0")}, op: "unlink n0",
				check: all([]check{gone("n0")}, changedCM("."))}
		}),
		[]tcase{
			{name: "other link remains", setup: []string{"create n0 0644", "link n0 n1"}, op: "unlink n0",
				check: []check{gone("n0"), nlink("n1", 1), changed(ctime, "n1")}},
			{name: "symlink not its target", setup: []string{"create n0 0644", "symlink n0 n1"}, op: "unlink n1",
				check: []check{gone("n1"), exists("n0")}},
			{name: "in subdirectory", setup: []string{"mkdir n0 0755", "create n0/n1 0644"}, op: "unlink n0/n1",
				check: all([]check{gone("n0/n1")}, changedCM("n0"), keptCM("."))},
			{name: "open file stays usable", setup: []string{"create n0 0644"},
				op: "open n0 O_RDWR : unlink n0 : write 0 abc : ftruncate 0 2", check: []check{gone("n0")}},
			{name: "name255", setup: []string{"create " + name255 + " 0644"}, op: "unlink " + name255,
				check: []check{gone(name255)}},
			{name: "EISDIR directory", setup: []string{"mkdir n0 0755"}, op: "unlink n0", want: syscall.EISDIR,
				alt: []syscall.Errno{syscall.EPERM}, check: []check{exists("n0")}},
			{name: "ENOENT", op: "unlink n0", want: syscall.ENOENT},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755", "create n0/n1 0644", "chown n0/n1 65534 65534"},
				op: asOwner + " unlink n0/n1", want: syscall.EACCES, check: []check{exists("n0/n1")}},
			{name: "sticky EPERM non-owner", setup: sticky, op: asOther + " unlink n0/n1", want: syscall.EPERM,
				alt: []syscall.Errno{syscall.EACCES}, check: []check{exists("n0/n1")}},
			{name: "sticky owner", setup: sticky, op: asOwner + " unlink n0/n1", check: []check{gone("n0/n1")}},
			{name: "sticky directory owner", setup: append(sticky, "chown n0 65533 65533"), op: asOther + " unlink n0/n1",
				check: []check{gone("n0/n1")}},
			{name: "sticky root", setup: sticky, op: "unlink n0/n1", check: []check{gone("n0/n1")}},
			{name: "EROFS", ro: true, op: "unlink f", want: syscall.EROFS},
		},
		prefixed("path ", pathErrors("unlink %s", false)),
	))
}
