package pjdfstest

import (
	"syscall"
	"testing"
)

// TestChmod covers chmod(2) and fchmod(2) (upstream tests/chmod). lchmod
// does not exist on Linux (fchmodat's AT_SYMLINK_NOFOLLOW is refused for
// symlinks by the kernel itself), and the chflags-based cases (08.t) have
// no Linux counterpart.
func TestChmod(t *testing.T) {
	runCases(t, cases(
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "sets mode", setup: []string{k.at("n0")}, op: "chmod n0 0111",
				check: []check{perm("n0", 0o111), ftype("n0", k.ifmt), changed(ctime, "n0"), kept(mtime, "n0")}}
		}),
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "follows symlink", setup: []string{k.at("n0"), "symlink n0 n1"}, op: "chmod n1 0111",
				check: []check{perm("n0", 0o111), perm("n1", 0o777), changed(ctime, "n0")}}
		}),
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "owner may", setup: []string{k.at("n0"), "chown n0 65534 65534"},
				op: asOwner + " chmod n0 0700", check: []check{perm("n0", 0o700), changed(ctime, "n0")}}
		}),
		forKinds(kinds, func(k kind) tcase {
			return tcase{name: "EPERM non-owner", setup: []string{k.at("n0"), "chown n0 65534 65534"},
				op: asOther + " chmod n0 0777", want: syscall.EPERM,
				check: []check{perm("n0", k.perm), kept(ctime, "n0")}}
		}),
		[]tcase{
			{name: "EPERM group member", setup: []string{"create n0 0644", "chmod n0 0664", "chown n0 65534 65533"},
				op: asOther + " chmod n0 0777", want: syscall.EPERM, check: []check{perm("n0", 0o664)}},
			{name: "root all bits", setup: []string{"create n0 0644"}, op: "chmod n0 07777",
				check: []check{perm("n0", 0o7777)}},
			{name: "owner setuid", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " chmod n0 04755", check: []check{perm("n0", 0o4755)}},
			// POSIX: without privilege, and not in the file's group, S_ISGID
			// is cleared on success.
			{name: "owner setgid in group", setup: []string{"create n0 0644", "chown n0 65534 65533"},
				op: "-u 65534 -g 65534,65533 chmod n0 02755", check: []check{perm("n0", 0o2755)}},
			{name: "owner setgid not in group/regular", setup: []string{"create n0 0644", "chown n0 65534 65533"},
				op: asOwner + " chmod n0 02755", check: []check{perm("n0", 0o755)}},
			{name: "owner setgid not in group/dir", setup: []string{"mkdir n0 0755", "chown n0 65534 65533"},
				op: asOwner + " chmod n0 02755", check: []check{perm("n0", 0o755)}},
			{name: "root setgid not in group", setup: []string{"create n0 0644", "chown n0 65534 65533"},
				op: "chmod n0 02755", check: []check{perm("n0", 0o2755)}},
			// Linux lets an owner set the sticky bit on a regular file
			// (FreeBSD says EFTYPE: upstream 11.t).
			{name: "owner sticky regular", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " chmod n0 01644", check: []check{perm("n0", 0o1644)}},
			{name: "owner sticky dir", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " chmod n0 01777", check: []check{perm("n0", 0o1777)}},
			{name: "fchmod", setup: []string{"create n0 0644"}, op: "open n0 O_RDONLY : fchmod 0 0710",
				check: []check{perm("n0", 0o710), changed(ctime, "n0")}},
			{name: "fchmod owner", setup: []string{"create n0 0644", "chown n0 65534 65534"},
				op: asOwner + " open n0 O_RDONLY : fchmod 0 0600", check: []check{perm("n0", 0o600)}},
			{name: "fchmod EPERM non-owner", setup: []string{"create n0 0644"},
				op: asOther + " open n0 O_RDONLY : fchmod 0 0777", want: syscall.EPERM,
				check: []check{perm("n0", 0o644), kept(ctime, "n0")}},
			{name: "ENOENT dangling symlink", setup: []string{"symlink n1 n0"}, op: "chmod n0 0644",
				want: syscall.ENOENT},
			{name: "EROFS", ro: true, op: "chmod f 0600", want: syscall.EROFS},
			{name: "EROFS dir", ro: true, op: "chmod d 0700", want: syscall.EROFS},
		},
		prefixed("path ", pathErrors("chmod %s 0644", true)),
	))
}
