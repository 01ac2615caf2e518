package pjdfstest

import (
	"syscall"
	"testing"
)

// TestOpen covers open(2) (upstream tests/open): creation and its
// ownership, O_EXCL, O_TRUNC, O_APPEND, the access checks, and the error
// cases of every flag.
func TestOpen(t *testing.T) {
	runCases(t, cases(
		[]tcase{
			{name: "O_CREAT creates", op: "open n0 O_CREAT,O_WRONLY 0644",
				check: all([]check{ftype("n0", kReg.ifmt), perm("n0", 0o644), owner("n0", 0, 0), nlink("n0", 1),
					size("n0", 0)}, changedCM("."))},
			{name: "O_CREAT umask", op: "open n0 O_CREAT,O_WRONLY 0777", check: []check{perm("n0", 0o755)}},
			{name: "O_CREAT umask 077", op: "-U 077 open n0 O_CREAT,O_WRONLY 0777", check: []check{perm("n0", 0o700)}},
			{name: "O_CREAT root all bits", op: "-U 0 open n0 O_CREAT,O_WRONLY 07777", check: []check{perm("n0", 0o7777)}},
			{name: "O_CREAT existing changes nothing", setup: []string{"create n0 0644"},
				op: "open n0 O_CREAT,O_RDONLY 0600", check: all([]check{perm("n0", 0o644)}, keptCM("n0"), keptCM("."))},
			{name: "O_CREAT user owns", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " open n0/n1 O_CREAT,O_WRONLY 0644", check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "O_CREAT primary group", setup: []string{"mkdir n0 0755", "chmod n0 0777"},
				op: "-u 65534 -g 65533,65534 open n0/n1 O_CREAT,O_WRONLY 0644", check: []check{owner("n0/n1", 65534, 65533)}},
			{name: "O_CREAT through dangling symlink", setup: []string{"symlink n1 n0"}, op: "open n0 O_CREAT,O_WRONLY 0644",
				check: []check{ftype("n1", kReg.ifmt), ftype("n0", kLink.ifmt)}},
			{name: "O_CREAT name255", op: "open " + name255 + " O_CREAT,O_WRONLY 0644", check: []check{exists(name255)}},
			{name: "EEXIST O_EXCL dangling symlink", setup: []string{"symlink n1 n0"},
				op: "open n0 O_CREAT,O_EXCL,O_WRONLY 0644", want: syscall.EEXIST, check: []check{gone("n1")}},
			{name: "O_TRUNC", setup: []string{"create n0 0644"}, prep: writeFile("n0", "hello"), op: "open n0 O_WRONLY,O_TRUNC",
				check: all([]check{size("n0", 0)}, changedCM("n0"))},
			{name: "O_TRUNC through symlink", setup: []string{"create n0 0644", "symlink n0 n1"}, prep: writeFile("n0", "hello"),
				op: "open n1 O_RDWR,O_TRUNC", check: []check{size("n0", 0)}},
			{name: "O_APPEND", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
				op: "open n0 O_WRONLY,O_APPEND : write 0 def", check: []check{content("n0", "abcdef")}},
			{name: "write moves times", setup: []string{"create n0 0644"}, op: "open n0 O_WRONLY : write 0 abc",
				check: all([]check{content("n0", "abc")}, changedCM("n0"))},
			// POSIX: a write by an unprivileged process clears the set-id
			// bits (upstream chmod/12.t).
			{name: "write by owner clears setuid", setup: []string{"create n0 0644", "chown n0 65534 65534", "chmod n0 04777"},
				op: asOwner + " open n0 O_WRONLY : write 0 x", check: []check{perm("n0", 0o777), content("n0", "x")}},
			{name: "write by non-owner clears setuid setgid", setup: []string{"create n0 0644", "chmod n0 06777"},
				op: asOther + " open n0 O_WRONLY : write 0 x", check: []check{perm("n0", 0o777)}},
			{name: "write by root keeps setuid", setup: []string{"create n0 0644", "chmod n0 06777"},
				op: "open n0 O_WRONLY : write 0 x", check: []check{perm("n0", 0o6777)}},
			{name: "directory read-only", setup: []string{"mkdir n0 0755"}, op: "open n0 O_RDONLY,O_DIRECTORY"},
			{name: "EISDIR write", setup: []string{"mkdir n0 0755"}, op: "open n0 O_WRONLY", want: syscall.EISDIR},
			{name: "EISDIR read-write", setup: []string{"mkdir n0 0755"}, op: "open n0 O_RDWR", want: syscall.EISDIR},
			{name: "EISDIR O_CREAT", setup: []string{"mkdir n0 0755"}, op: "open n0 O_CREAT,O_RDONLY 0644",
				want: syscall.EISDIR},
			{name: "EISDIR O_TRUNC", setup: []string{"mkdir n0 0755"}, op: "open n0 O_RDONLY,O_TRUNC", want: syscall.EISDIR},
			{name: "ENOTDIR O_DIRECTORY", setup: []string{"create n0 0644"}, op: "open n0 O_RDONLY,O_DIRECTORY",
				want: syscall.ENOTDIR},
			{name: "ENOENT no O_CREAT", op: "open n0 O_RDONLY", want: syscall.ENOENT},
			{name: "ENOENT dangling symlink", setup: []string{"symlink n1 n0"}, op: "open n0 O_RDONLY", want: syscall.ENOENT},
			{name: "ELOOP O_NOFOLLOW", setup: []string{"create n1 0644", "symlink n1 n0"}, op: "open n0 O_RDONLY,O_NOFOLLOW",
				want: syscall.ELOOP},
			{name: "O_NOFOLLOW symlink in prefix", setup: []string{"mkdir n1 0755", "create n1/n2 0644", "symlink n1 n0"},
				op: "open n0/n2 O_RDONLY,O_NOFOLLOW"},
			{name: "EACCES read", setup: []string{"create n0 0600"}, op: asOther + " open n0 O_RDONLY", want: syscall.EACCES},
			{name: "EACCES write", setup: []string{"create n0 0644"}, op: asOther + " open n0 O_WRONLY", want: syscall.EACCES},
			{name: "EACCES read-write", setup: []string{"create n0 0644"}, op: asOther + " open n0 O_RDWR", want: syscall.EACCES},
			{name: "EACCES O_TRUNC", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
				op: asOther + " open n0 O_RDONLY,O_TRUNC", want: syscall.EACCES, check: []check{size("n0", 3)}},
			{name: "EACCES O_CREAT parent not writable", setup: []string{"mkdir n0 0755"},
				op: asOwner + " open n0/n1 O_CREAT,O_WRONLY 0644", want: syscall.EACCES, check: []check{gone("n0/n1")}},
			{name: "O_CREAT existing in unwritable parent", setup: []string{"mkdir n0 0755", "create n0/n1 0644"},
				op: asOwner + " open n0/n1 O_CREAT,O_RDONLY 0644"},
			{name: "ENXIO fifo without reader", setup: []string{"mkfifo n0 0644"}, op: "open n0 O_WRONLY,O_NONBLOCK",
				want: syscall.ENXIO},
			{name: "fifo reader without writer", setup: []string{"mkfifo n0 0644"}, op: "open n0 O_RDONLY,O_NONBLOCK"},
			{name: "ETXTBSY", prep: runExecutable("n0"), op: "open n0 O_WRONLY", want: syscall.ETXTBSY},
			{name: "EROFS read", ro: true, op: "open f O_RDONLY"},
			{name: "EROFS write", ro: true, op: "open f O_WRONLY", want: syscall.EROFS},
			{name: "EROFS read-write", ro: true, op: "open f O_RDWR", want: syscall.EROFS},
			{name: "EROFS O_TRUNC", ro: true, op: "open f O_RDONLY,O_TRUNC", want: syscall.EROFS},
			{name: "EROFS O_CREAT", ro: true, op: "open new O_CREAT,O_RDONLY 0644", want: syscall.EROFS},
			{name: "EROFS fifo write", ro: true, op: "open p O_RDWR"},
		},
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST O_EXCL", setup: []string{k.at("n0")}, op: "open n0 O_CREAT,O_EXCL,O_RDONLY 0644",
				want: syscall.EEXIST, check: []check{ftype("n0", k.ifmt)}}
		}),
		prefixed("path ", pathErrors("open %s O_RDONLY", true)),
		prefixed("path O_CREAT ", pathErrors("open %s O_CREAT,O_WRONLY 0644", false)),
	))
}
