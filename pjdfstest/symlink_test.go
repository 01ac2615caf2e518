package pjdfstest

import (
	"strings"
	"syscall"
	"testing"
)

// TestSymlink covers symlink(2) (upstream tests/symlink).
func TestSymlink(t *testing.T) {
	long := strings.Repeat("t", 4095)
	runCases(t, cases(
		[]tcase{
			{name: "creates", op: "symlink test n0", check: all([]check{ftype("n0", kLink.ifmt), target("n0", "test"),
				size("n0", 4), perm("n0", 0o777), owner("n0", 0, 0), nlink("n0", 1)}, changedCM("."))},
			{name: "dangling", op: "symlink n9/n8 n0", check: []check{target("n0", "n9/n8")}},
			{name: "absolute", op: "symlink /etc/passwd n0", check: []check{target("n0", "/etc/passwd")}},
			{name: "user owns", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"}, op: asOwner + " symlink test n0/n1",
				check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "setgid parent", setup: []string{"mkdir n0 0755", "chmod n0 02777", "chown n0 0 65532"},
				op: asOwner + " symlink test n0/n1", check: []check{owner("n0/n1", 65534, 65532)}},
			{name: "name255", op: "symlink test " + name255, check: []check{target(name255, "test")}},
			{name: "target of PATH_MAX-1", op: "symlink " + long + " n0", check: []check{target("n0", long),
				size("n0", 4095)}},
			{name: "ENAMETOOLONG target", op: "symlink " + long + "t n0", want: syscall.ENAMETOOLONG,
				check: []check{gone("n0")}},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755"}, op: asOwner + " symlink test n0/n1",
				want: syscall.EACCES, check: []check{gone("n0/n1")}},
			{name: "EROFS", ro: true, op: "symlink test new", want: syscall.EROFS},
		},
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST", setup: []string{k.at("n0")}, op: "symlink test n0", want: syscall.EEXIST,
				check: []check{ftype("n0", k.ifmt)}}
		}),
		prefixed("path ", pathErrors("symlink test %s", false)),
	))
}
