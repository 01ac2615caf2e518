package pjdfstest

import (
	"syscall"
	"testing"
)

// TestChown covers chown(2), lchown(2) and fchown(2) (upstream
// tests/chown): who may change owner and group, that a chown clears the
// set-id bits of a regular file, and which changes touch ctime. chflags
// does not exist on Linux, so upstream's immutable-flag cases (08.t) have
// no counterpart here.
func TestChown(t *testing.T) {
	runCases(t, cases(
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "root sets owner", setup: []string{k.at("n0")}, op: "chown n0 65534 65533",
				check: []check{owner("n0", 65534, 65533), ftype("n0", k.ifmt), changed(ctime, "n0")}}
		}),
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "follows symlink", setup: []string{k.at("n0"), "symlink n0 n1"},
				op: "chown n1 65534 65533", check: []check{owner("n0", 65534, 65533), owner("n1", 0, 0)}}
		}),
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "lchown", setup: []string{k.at("n0"), "symlink n0 n1"},
				op: "lchown n1 65534 65533", check: []check{owner("n1", 65534, 65533), owner("n0", 0, 0),
					changed(ctime, "n1")}}
		}),
		[]tcase{
			{name: "uid only", setup: []string{"create n0 0644"}, op: "chown n0 65534 -1",
				check: []check{owner("n0", 65534, 0)}},
			{name: "gid only", setup: []string{"create n0 0644"}, op: "chown n0 -1 65533",
				check: []check{owner("n0", 0, 65533)}},
			{name: "same ids touch ctime", setup: []string{"create n0 0644"}, op: "chown n0 0 0",
				check: []check{owner("n0", 0, 0), changed(ctime, "n0")}},
			{name: "owner chgrp to a member group", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op:    "-u 65534 -g 65534,65533 chown n0 -1 65533",
				check: []check{owner("n0", 65534, 65533), changed(ctime, "n0")}},
			{name: "owner chgrp to primary group", setup: []string{"create n0 0644", "chown n0 65534 65533"},
				op: asOwner + " chown n0 65534 65534", check: []check{owner("n0", 65534, 65534)}},
			{name: "EPERM owner chgrp to foreign group", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " chown n0 -1 65533", want: syscall.EPERM,
				check: []check{owner("n0", 65534, 65534), kept(ctime, "n0")}},
			{name: "EPERM owner gives file away", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " chown n0 65533 -1", want: syscall.EPERM,
				check: []check{owner("n0", 65534, 65534), kept(ctime, "n0")}},
			{name: "EPERM non-owner", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOther + " chown n0 65533 65533", want: syscall.EPERM,
				check: []check{owner("n0", 65534, 65534), kept(ctime, "n0")}},
			{name: "EPERM non-owner to same ids", setup: []string{"create n0 0644", "chown n0 65534 65533"},
				op: asOther + " chown n0 65534 65533", want: syscall.EPERM},
			{name: "EPERM non-owner chgrp to own group", setup: []string{"create n0 0666", "chown n0 65534 65534"},
				op: asOther + " chown n0 -1 65533", want: syscall.EPERM, check: []check{owner("n0", 65534, 65534)}},
			// POSIX lets chown(-1, -1) skip the ctime update: only the
			// result is checked.
			{name: "no change by non-owner", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOther + " chown n0 -1 -1", check: []check{owner("n0", 65534, 65534)}},
			{name: "root clears setuid setgid", setup: []string{"create n0 0644", "chmod n0 06555"},
				op: "chown n0 65534 65533", check: []check{perm("n0", 0o555)}},
			// Without group execute, S_ISGID marks mandatory locking, not
			// set-group-id: Linux keeps it.
			{name: "root keeps setgid without group exec", setup: []string{"create n0 0644", "chmod n0 06444"},
				op: "chown n0 65534 65533", check: []check{perm("n0", 0o2444)}},
			{name: "owner chgrp clears setuid setgid", setup: []string{"create n0 0644", "chown n0 65534 65534",
				"chmod n0 06555"}, op: "-u 65534 -g 65534,65533 chown n0 -1 65533",
				check: []check{perm("n0", 0o555), owner("n0", 65534, 65533)}},
			{name: "dir keeps setgid", setup: []string{"mkdir n0 0755", "chmod n0 02755"},
				op: "chown n0 65534 65533", check: []check{perm("n0", 0o2755)}},
			{name: "fchown", setup: []string{"create n0 0644"}, op: "open n0 O_RDONLY : fchown 0 65534 65533",
				check: []check{owner("n0", 65534, 65533), changed(ctime, "n0")}},
			{name: "fchown EPERM non-owner", setup: []string{"create n0 0644"},
				op: asOther + " open n0 O_RDONLY : fchown 0 65533 65533", want: syscall.EPERM,
				check: []check{owner("n0", 0, 0)}},
			{name: "ENOENT dangling symlink", setup: []string{"symlink n1 n0"}, op: "chown n0 65534 65534",
				want: syscall.ENOENT},
			{name: "EROFS", ro: true, op: "chown f 65534 65534", want: syscall.EROFS},
			{name: "EROFS lchown", ro: true, op: "lchown s 65534 65534", want: syscall.EROFS},
		},
		prefixed("path ", pathErrors("chown %s 65534 65534", true)),
		prefixed("lchown path ", pathErrors("lchown %s 65534 65534", false)),
	))
}
