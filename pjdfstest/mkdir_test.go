package pjdfstest

import (
	"syscall"
	"testing"
)

// TestMkdir covers mkdir(2) (upstream tests/mkdir), with the ownership
// and setgid-directory rules of a new directory. EMLINK (upstream 09.t) is
// not run, as for link.
func TestMkdir(t *testing.T) {
	runCases(t, cases(
		[]tcase{
			{name: "creates", op: "mkdir n0 0755", check: all([]check{ftype("n0", kDir.ifmt), perm("n0", 0o755),
				owner("n0", 0, 0), nlink("n0", 2), nlink(".", 3)}, changedCM("."))},
			{name: "umask", op: "mkdir n0 0777", check: []check{perm("n0", 0o755)}},
			{name: "umask 077", op: "-U 077 mkdir n0 0777", check: []check{perm("n0", 0o700)}},
			{name: "sticky", op: "-U 0 mkdir n0 01777", check: []check{perm("n0", 0o1777)}},
			// mkdir takes the permission and sticky bits only: set-id bits
			// come from the parent, never from the mode argument.
			{name: "set-id bits ignored", op: "-U 0 mkdir n0 07777", check: []check{perm("n0", 0o1777)}},
			{name: "nested updates parent", setup: []string{"mkdir n0 0755"}, op: "mkdir n0/n1 0755",
				check: all([]check{nlink("n0", 3), nlink(".", 3)}, changedCM("n0"), keptCM("."))},
			{name: "user owns", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"}, op: asOwner + " mkdir n0/n1 0755",
				check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "primary group", setup: []string{"mkdir n0 0755", "chmod n0 0777"}, op: "-u 65534 -g 65533,65534 mkdir n0/n1 0755",
				check: []check{owner("n0/n1", 65534, 65533)}},
			{name: "setgid parent", setup: []string{"mkdir n0 0755", "chmod n0 02777", "chown n0 0 65532"},
				op: asOwner + " mkdir n0/n1 0755", check: []check{owner("n0/n1", 65534, 65532), perm("n0/n1", 0o2755)}},
			{name: "name255", op: "mkdir " + name255 + " 0755", check: []check{ftype(name255, kDir.ifmt)}},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755"}, op: asOwner + " mkdir n0/n1 0755",
				want: syscall.EACCES, check: all([]check{gone("n0/n1")}, keptCM("n0"))},
			{name: "EACCES write without search", setup: []string{"mkdir n0 0755", "chmod n0 0766"},
				op: asOther + " mkdir n0/n1 0755", want: syscall.EACCES},
			{name: "EROFS", ro: true, op: "mkdir new 0755", want: syscall.EROFS},
		},
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST", setup: []string{k.at("n0")}, op: "mkdir n0 0755", want: syscall.EEXIST,
				check: []check{ftype("n0", k.ifmt)}}
		}),
		prefixed("path ", pathErrors("mkdir %s 0755", false)),
	))
}
