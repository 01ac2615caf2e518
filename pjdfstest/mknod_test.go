package pjdfstest

import (
	"syscall"
	"testing"
)

// TestMkfifo covers mkfifo(3) (upstream tests/mkfifo).
func TestMkfifo(t *testing.T) {
	runCases(t, cases(
		[]tcase{
			{name: "creates", op: "mkfifo n0 0644", check: all([]check{ftype("n0", kFifo.ifmt), perm("n0", 0o644),
				owner("n0", 0, 0), nlink("n0", 1), size("n0", 0)}, changedCM("."))},
			{name: "umask", op: "mkfifo n0 0777", check: []check{perm("n0", 0o755)}},
			{name: "umask 077", op: "-U 077 mkfifo n0 0777", check: []check{perm("n0", 0o700)}},
			{name: "root all bits", op: "-U 0 mkfifo n0 07777", check: []check{perm("n0", 0o7777)}},
			{name: "user owns", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " mkfifo n0/n1 0644", check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "setgid parent", setup: []string{"mkdir n0 0755", "chmod n0 02777", "chown n0 0 65532"},
				op: asOwner + " mkfifo n0/n1 0644", check: []check{owner("n0/n1", 65534, 65532), perm("n0/n1", 0o644)}},
			{name: "name255", op: "mkfifo " + name255 + " 0644", check: []check{ftype(name255, kFifo.ifmt)}},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755"}, op: asOwner + " mkfifo n0/n1 0644",
				want: syscall.EACCES, check: []check{gone("n0/n1")}},
			{name: "EROFS", ro: true, op: "mkfifo new 0644", want: syscall.EROFS},
		},
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST", setup: []string{k.at("n0")}, op: "mkfifo n0 0644", want: syscall.EEXIST,
				check: []check{ftype("n0", k.ifmt)}}
		}),
		prefixed("path ", pathErrors("mkfifo %s 0644", false)),
	))
}

// TestMknod covers mknod(2) (upstream tests/mknod) for every type it
// makes, device numbers included.
func TestMknod(t *testing.T) {
	runCases(t, cases(
		[]tcase{
			{name: "fifo", op: "mknod n0 p 0644 0 0", check: all([]check{ftype("n0", kFifo.ifmt), perm("n0", 0o644),
				nlink("n0", 1)}, changedCM("."))},
			{name: "regular", op: "mknod n0 f 0640 0 0", check: []check{ftype("n0", kReg.ifmt), perm("n0", 0o640), size("n0", 0)}},
			{name: "socket", op: "mknod n0 s 0600 0 0", check: []check{ftype("n0", kSock.ifmt), perm("n0", 0o600)}},
			{name: "block", op: "mknod n0 b 0644 1 2", check: []check{ftype("n0", kBlock.ifmt), rdev("n0", 1, 2),
				owner("n0", 0, 0)}},
			{name: "char", op: "mknod n0 c 0644 3 4", check: []check{ftype("n0", kChar.ifmt), rdev("n0", 3, 4)}},
			// The largest numbers the kernel's 32-bit device encoding (which
			// FUSE carries) holds: 12-bit major, 20-bit minor.
			{name: "char large numbers", op: "mknod n0 c 0644 4095 1048575",
				check: []check{rdev("n0", 4095, 1048575)}},
			{name: "umask", op: "mknod n0 p 0777 0 0", check: []check{perm("n0", 0o755)}},
			{name: "user fifo", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " mknod n0/n1 p 0644 0 0", check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "user socket", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " mknod n0/n1 s 0644 0 0", check: []check{ftype("n0/n1", kSock.ifmt)}},
			{name: "EPERM user block", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " mknod n0/n1 b 0644 1 2", want: syscall.EPERM, check: []check{gone("n0/n1")}},
			{name: "EPERM user char", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
				op: asOwner + " mknod n0/n1 c 0644 1 2", want: syscall.EPERM},
			{name: "EPERM directory type", op: "mknod n0 d 0755 0 0", want: syscall.EPERM},
			{name: "EACCES parent not writable", setup: []string{"mkdir n0 0755"}, op: asOwner + " mknod n0/n1 p 0644 0 0",
				want: syscall.EACCES},
			{name: "EROFS", ro: true, op: "mknod new p 0644 0 0", want: syscall.EROFS},
		},
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST", setup: []string{k.at("n0")}, op: "mknod n0 c 0644 1 2", want: syscall.EEXIST,
				check: []check{ftype("n0", k.ifmt)}}
		}),
		prefixed("path ", pathErrors("mknod %s p 0644 0 0", false)),
	))
}
