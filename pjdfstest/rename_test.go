package pjdfstest

import (
	"syscall"
	"testing"
)

// TestRename covers rename(2) (upstream tests/rename) and renameat2(2)'s
// RENAME_NOREPLACE and RENAME_EXCHANGE: what moves, what an overwritten
// target loses, link counts of directories moved between parents, the
// sticky-directory and write-permission rules.
func TestRename(t *testing.T) {
	xdev, xskip := crossDevice()
	sticky := []string{"mkdir n0 0755", "chmod n0 01777", "create n0/n1 0644", "chown n0/n1 65534 65534",
		"create n0/n2 0644", "chown n0/n2 65532 65532"}
	runCases(t, cases(
		forKinds(allKinds, func(k kind) tcase {
			return tcase{name: "renames", setup: []string{k.at("n0")}, op: "rename n0 n1",
				check: all([]check{gone("n0"), inodeOf("n1", "n0"), ftype("n1", k.ifmt),
					changedFrom(ctime, "n1", "n0")},
					changedCM("."))}
		}),
		forKinds(append(append([]kind{}, nonDirs...), kLink), func(k kind) tcase {
			return tcase{name: "replaces", setup: []string{"create n0 0644", k.at("n1")}, op: "rename n0 n1",
				check: []check{gone("n0"), inodeOf("n1", "n0"), ftype("n1", kReg.ifmt), nlink("n1", 1)}}
		}),
		[]tcase{
			{name: "keeps link count", setup: []string{"create n0 0644", "link n0 n2"}, op: "rename n0 n1",
				check: []check{nlink("n1", 2), sameInode("n1", "n2")}},
			{name: "replaced inode loses a link", setup: []string{"create n0 0644", "create n1 0644", "link n1 n2"},
				op: "rename n0 n1", check: []check{nlink("n2", 1), changed(ctime, "n2"), inodeOf("n1", "n0")}},
			{name: "between directories", setup: []string{"mkdir n0 0755", "mkdir n1 0755", "create n0/n2 0644"},
				op: "rename n0/n2 n1/n2", check: all([]check{gone("n0/n2"), inodeOf("n1/n2", "n0/n2")},
					changedCM("n0"), changedCM("n1"), keptCM("."))},
			{name: "directory between directories", setup: []string{"mkdir n0 0755", "mkdir n1 0755", "mkdir n0/n2 0755"},
				op: "rename n0/n2 n1/n2", check: []check{nlink("n0", 2), nlink("n1", 3), nlink("n1/n2", 2),
					sameInode("n1/n2/..", "n1"), nlink(".", 4)}},
			{name: "directory replaces empty directory", setup: []string{"mkdir n0 0755", "mkdir n1 0755"},
				op: "rename n0 n1", check: []check{gone("n0"), inodeOf("n1", "n0"), nlink(".", 3)}},
			{name: "directory replaces empty directory elsewhere",
				setup: []string{"mkdir n0 0755", "mkdir n0/n2 0755", "mkdir n1 0755", "mkdir n1/n2 0755"},
				op:    "rename n0/n2 n1/n2", check: []check{nlink("n0", 2), nlink("n1", 3), inodeOf("n1/n2", "n0/n2")}},
			{name: "replaced open directory stays valid", setup: []string{"mkdir n0 0755", "mkdir n1 0755"},
				op: "open n1 O_RDONLY,O_DIRECTORY : rename n0 n1 : fstat 0", check: []check{gone("n0")}},
			{name: "hard links of one inode", setup: []string{"create n0 0644", "link n0 n1"}, op: "rename n0 n1",
				check: []check{exists("n0"), exists("n1"), nlink("n0", 2)}},
			{name: "onto itself", setup: []string{"create n0 0644"}, op: "rename n0 n0", check: []check{nlink("n0", 1)}},
			{name: "symlink itself", setup: []string{"symlink n9 n0"}, op: "rename n0 n1",
				check: []check{target("n1", "n9"), gone("n0")}},
			{name: "name255", setup: []string{"create n0 0644"}, op: "rename n0 " + name255,
				check: []check{exists(name255), gone("n0")}},
			{name: "ENOTEMPTY", setup: []string{"mkdir n0 0755", "mkdir n1 0755", "create n1/n2 0644"},
				op: "rename n0 n1", want: syscall.ENOTEMPTY, alt: []syscall.Errno{syscall.EEXIST},
				check: []check{exists("n0"), exists("n1/n2")}},
			{name: "ENOTDIR directory over file", setup: []string{"mkdir n0 0755", "create n1 0644"},
				op: "rename n0 n1", want: syscall.ENOTDIR, check: []check{ftype("n1", kReg.ifmt)}},
			{name: "EISDIR file over directory", setup: []string{"create n0 0644", "mkdir n1 0755"},
				op: "rename n0 n1", want: syscall.EISDIR, check: []check{ftype("n1", kDir.ifmt), exists("n0")}},
			{name: "EINVAL into own subdirectory", setup: []string{"mkdir n0 0755", "mkdir n0/n1 0755"},
				op: "rename n0 n0/n1/n2", want: syscall.EINVAL, check: []check{exists("n0/n1"), gone("n0/n1/n2")}},
			{name: "EINVAL onto own subdirectory", setup: []string{"mkdir n0 0755"},
				op: "rename n0 n0/n1", want: syscall.EINVAL},
			{name: "EBUSY dot", setup: []string{"mkdir n0 0755"}, op: "rename n0/. n1", want: syscall.EBUSY,
				alt: []syscall.Errno{syscall.EINVAL}},
			{name: "ENOENT source", op: "rename n0 n1", want: syscall.ENOENT},
			// Sticky directory: only the owner of the entry, of the
			// directory, or root may move or replace it.
			{name: "sticky EPERM non-owner", setup: sticky, op: asOther + " rename n0/n1 n0/n3", want: syscall.EPERM,
				alt: []syscall.Errno{syscall.EACCES}, check: []check{exists("n0/n1"), gone("n0/n3")}},
			{name: "sticky owner", setup: sticky, op: asOwner + " rename n0/n1 n0/n3", check: []check{exists("n0/n3")}},
			{name: "sticky EPERM replace other's", setup: sticky, op: asOwner + " rename n0/n1 n0/n2", want: syscall.EPERM,
				alt: []syscall.Errno{syscall.EACCES}, check: []check{exists("n0/n1"), owner("n0/n2", 65532, 65532)}},
			{name: "sticky directory owner", setup: append(sticky, "chown n0 65533 65533"),
				op: asOther + " rename n0/n1 n0/n3", check: []check{exists("n0/n3")}},
			{name: "sticky root", setup: sticky, op: "rename n0/n1 n0/n2", check: []check{owner("n0/n2", 65534, 65534)}},
			// Write permission on both parents, and on a directory that
			// moves to another parent (its ".." changes).
			{name: "EACCES source parent", setup: []string{"mkdir n0 0755", "create n0/n2 0644", "mkdir n1 0755",
				"chmod n1 0777"}, op: asOwner + " rename n0/n2 n1/n2", want: syscall.EACCES, check: []check{exists("n0/n2")}},
			{name: "EACCES destination parent", setup: []string{"mkdir n0 0755", "chmod n0 0777", "create n0/n2 0644",
				"mkdir n1 0755"}, op: asOwner + " rename n0/n2 n1/n2", want: syscall.EACCES, check: []check{gone("n1/n2")}},
			{name: "EACCES directory moving parents", setup: []string{"mkdir n0 0755", "chmod n0 0777", "mkdir n1 0755",
				"chmod n1 0777", "mkdir n0/n2 0755"}, op: asOwner + " rename n0/n2 n1/n2", want: syscall.EACCES},
			{name: "directory renamed in place", setup: []string{"mkdir n0 0755", "chmod n0 0777", "mkdir n0/n2 0755"},
				op: asOwner + " rename n0/n2 n0/n3", check: []check{exists("n0/n3")}},
			{name: "EXDEV", skip: xskip, setup: []string{"create n0 0644"}, op: "rename n0 " + xdev + "/n0",
				want: syscall.EXDEV, check: []check{exists("n0")}},
			{name: "EROFS", ro: true, op: "rename f g", want: syscall.EROFS},
		},
		prefixed("renameat2 ", []tcase{
			{name: "NOREPLACE", setup: []string{"create n0 0644"}, op: "renameat2 n0 n1 RENAME_NOREPLACE",
				check: []check{gone("n0"), inodeOf("n1", "n0")}},
			{name: "NOREPLACE EEXIST", setup: []string{"create n0 0644", "create n1 0644"},
				op: "renameat2 n0 n1 RENAME_NOREPLACE", want: syscall.EEXIST,
				check: []check{exists("n0"), inodeOf("n1", "n1")}},
			{name: "NOREPLACE EEXIST dangling symlink", setup: []string{"create n0 0644", "symlink n9 n1"},
				op: "renameat2 n0 n1 RENAME_NOREPLACE", want: syscall.EEXIST},
			{name: "EXCHANGE files", setup: []string{"create n0 0644", "mkfifo n1 0644"},
				op: "renameat2 n0 n1 RENAME_EXCHANGE", check: all([]check{inodeOf("n0", "n1"), inodeOf("n1", "n0"),
					ftype("n0", kFifo.ifmt), ftype("n1", kReg.ifmt)}, changedCM("."))},
			{name: "EXCHANGE file and directory across parents",
				setup: []string{"mkdir n0 0755", "mkdir n1 0755", "create n0/n2 0644", "mkdir n1/n3 0755"},
				op:    "renameat2 n0/n2 n1/n3 RENAME_EXCHANGE",
				check: all([]check{ftype("n0/n2", kDir.ifmt), ftype("n1/n3", kReg.ifmt), nlink("n0", 3), nlink("n1", 2),
					sameInode("n0/n2/..", "n0")}, changedCM("n0"), changedCM("n1"))},
			{name: "EXCHANGE directories", setup: []string{"mkdir n0 0755", "mkdir n1 0755", "create n0/n2 0644"},
				op: "renameat2 n0 n1 RENAME_EXCHANGE", check: []check{exists("n1/n2"), gone("n0/n2")}},
			{name: "EXCHANGE ENOENT", setup: []string{"create n0 0644"}, op: "renameat2 n0 n1 RENAME_EXCHANGE",
				want: syscall.ENOENT, check: []check{exists("n0"), gone("n1")}},
			{name: "EINVAL EXCHANGE with NOREPLACE", setup: []string{"create n0 0644", "create n1 0644"},
				op: "renameat2 n0 n1 RENAME_EXCHANGE,RENAME_NOREPLACE", want: syscall.EINVAL},
			{name: "EXCHANGE sticky EPERM", setup: sticky, op: asOwner + " renameat2 n0/n1 n0/n2 RENAME_EXCHANGE",
				want: syscall.EPERM, alt: []syscall.Errno{syscall.EACCES}, check: []check{owner("n0/n1", 65534, 65534)}},
		}),
		prefixed("path source ", pathErrors("rename %s n9", false)),
		prefixed("path destination ", pathErrors("rename n9 %s", false, "create n9 0644")),
	))
}
