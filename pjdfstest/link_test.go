package pjdfstest

import (
	"syscall"
	"testing"
)

// TestLink covers link(2) (upstream tests/link). EMLINK (upstream 03.t
// makes LINK_MAX links) is not run: it would take tens of thousands of
// links for a limit the file system may set anywhere.
func TestLink(t *testing.T) {
	xdev, xskip := crossDevice()
	nonDirsAndLinks := append(append([]kind{}, nonDirs...), kLink)
	runCases(t, cases(
		forKinds(nonDirsAndLinks, func(k kind) tcase {
			return tcase{name: "links", setup: []string{k.at("n0")}, op: "link n0 n1",
				check: all([]check{nlink("n0", 2), nlink("n1", 2), sameInode("n0", "n1"), ftype("n1", k.ifmt),
					changed(ctime, "n0")}, changedCM("."))}
		}),
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "EEXIST", setup: []string{"create n0 0644", k.at("n1")}, op: "link n0 n1",
				want: syscall.EEXIST, check: []check{nlink("n0", 1), ftype("n1", k.ifmt)}}
		}),
		[]tcase{
			{name: "third link", setup: []string{"create n0 0644", "link n0 n1"}, op: "link n1 n2",
				check: []check{nlink("n0", 3), sameInode("n0", "n2")}},
			{name: "into another directory", setup: []string{"create n0 0644", "mkdir n1 0755"}, op: "link n0 n1/n2",
				check: all([]check{nlink("n1/n2", 2), nlink("n1", 2)}, changedCM("n1"), keptCM("."))},
			{name: "owner links own file", setup: []string{"mkdir n0 0755", "chown n0 65534 65534", asOwner + " create n0/n1 0644"},
				op: asOwner + " link n0/n1 n0/n2", check: []check{nlink("n0/n1", 2), owner("n0/n2", 65534, 65534)}},
			{name: "EEXIST dangling symlink", setup: []string{"create n0 0644", "symlink n9 n1"}, op: "link n0 n1",
				want: syscall.EEXIST},
			{name: "EPERM directory", setup: []string{"mkdir n0 0755"}, op: "link n0 n1", want: syscall.EPERM,
				check: []check{nlink("n0", 2), gone("n1")}},
			{name: "ENOENT source", op: "link n0 n1", want: syscall.ENOENT, check: []check{gone("n1")}},
			{name: "ENOENT dangling symlink is linked itself", setup: []string{"symlink n9 n0"}, op: "link n0 n1",
				check: []check{sameInode("n0", "n1"), ftype("n1", kLink.ifmt)}},
			{name: "EACCES destination not writable",
				setup: []string{"mkdir n0 0755", "chown n0 65534 65534", asOwner + " create n0/n1 0644", "mkdir n2 0755"},
				op:    asOwner + " link n0/n1 n2/n1", want: syscall.EACCES, check: []check{nlink("n0/n1", 1), gone("n2/n1")}},
			{name: "name255", setup: []string{"create n0 0644"}, op: "link n0 " + name255,
				check: []check{nlink("n0", 2)}},
			{name: "ENAMETOOLONG destination", setup: []string{"create n0 0644"}, op: "link n0 " + name256,
				want: syscall.ENAMETOOLONG, check: []check{nlink("n0", 1)}},
			{name: "EXDEV", skip: xskip, setup: []string{"create n0 0644"}, op: "link n0 " + xdev + "/n0",
				want: syscall.EXDEV},
			{name: "EROFS", ro: true, op: "link f g", want: syscall.EROFS},
		},
		prefixed("path source ", pathErrors("link %s n9", false)),
		prefixed("path destination ", pathErrors("link n9 %s", false, "create n9 0644")),
	))
}
