package pjdfstest

import (
	"fmt"
	"syscall"
	"testing"
)

// TestGranular is the permission matrix: each access a file or a
// directory grants, allowed and denied for each class of caller (owner,
// owning group, a supplementary member of it, others), with the POSIX rule
// that only the first matching class counts (an owner without read is
// denied even when "other" may read). Upstream's tests/granular are
// FreeBSD NFSv4-ACL tests; here they become POSIX.1e ACL cases (named
// users and groups, the mask, default ACLs) and the setgid-directory
// rules.
func TestGranular(t *testing.T) {
	runCases(t, cases(
		prefixed("file ", permMatrix(
			[]string{"create n0 0644", "chown n0 65534 65533"}, "n0", []permOp{
				{"read", "open n0 O_RDONLY", 4},
				{"write", "open n0 O_WRONLY", 2},
				{"read-write", "open n0 O_RDWR", 6},
				{"execute", "access n0 X_OK", 1},
				{"truncate", "truncate n0 0", 2},
			})),
		prefixed("dir ", permMatrix(
			[]string{"mkdir n0 0755", "create n0/n1 0644", "chown n0 65534 65533"}, "n0", []permOp{
				{"list", "open n0 O_RDONLY,O_DIRECTORY", 4},
				{"search", "stat n0/n1", 1},
				{"create", "create n0/n2 0644", 3},
				{"mkdir", "mkdir n0/n2 0755", 3},
				{"remove", "unlink n0/n1", 3},
				{"rename", "rename n0/n1 n0/n2", 3},
			})),
		[]tcase{
			{name: "root reads and writes mode 0", setup: []string{"create n0 0644", "chmod n0 0"},
				op: "open n0 O_RDWR"},
			{name: "root searches mode 0", setup: []string{"mkdir n0 0755", "create n0/n1 0644", "chmod n0 0"},
				op: "stat n0/n1"},
			{name: "root execute needs an execute bit", setup: []string{"create n0 0644"}, op: "access n0 X_OK",
				want: syscall.EACCES},
			{name: "root execute with any execute bit", setup: []string{"create n0 0644", "chmod n0 0001"},
				op: "access n0 X_OK"},
		},
		prefixed("acl ", aclCases()),
		prefixed("setgid dir ", []tcase{
			{name: "file takes directory group", setup: setgidDir, op: asOwner + " create n0/n1 0644",
				check: []check{owner("n0/n1", 65534, 65533), perm("n0/n1", 0o644)}},
			{name: "subdirectory inherits setgid", setup: setgidDir, op: asOwner + " mkdir n0/n1 0755",
				check: []check{owner("n0/n1", 65534, 65533), perm("n0/n1", 0o2755)}},
			{name: "non-member loses set-group-id", setup: setgidDir, op: asOwner + " -U 0 create n0/n1 02755",
				check: []check{perm("n0/n1", 0o755), owner("n0/n1", 65534, 65533)}},
			{name: "member keeps set-group-id", setup: setgidDir, op: "-u 65534 -g 65534,65533 -U 0 create n0/n1 02755",
				check: []check{perm("n0/n1", 0o2755)}},
			{name: "root keeps set-group-id", setup: setgidDir, op: "-U 0 create n0/n1 02755",
				check: []check{perm("n0/n1", 0o2755), owner("n0/n1", 0, 65533)}},
		}),
		prefixed("sticky dir ", []tcase{
			{name: "anyone creates", setup: []string{"mkdir n0 0755", "chmod n0 01777"}, op: asOwner + " create n0/n1 0644",
				check: []check{owner("n0/n1", 65534, 65534)}},
			{name: "EPERM remove other's", setup: []string{"mkdir n0 0755", "chmod n0 01777", asOther + " create n0/n1 0644"},
				op: asOwner + " unlink n0/n1", want: syscall.EPERM, alt: []syscall.Errno{syscall.EACCES}},
		}),
	))
}

// setgidDir is a directory n0 of root's, group 65533, mode 02777.
var setgidDir = []string{"mkdir n0 0755", "chmod n0 02777", "chown n0 0 65533"}

// permOp is an access and the permission bits (rwx as 4, 2, 1) it needs
// on the object under test.
type permOp struct {
	name string
	op   string
	need uint32
}

// callerClass is a caller and where its bits sit in a mode of an object
// owned by 65534, group 65533.
type callerClass struct {
	name  string
	as    string
	shift uint
}

var callerClasses = []callerClass{
	{"owner", asOwner, 6},
	{"group", asOther, 3},
	{"supplementary group", "-u 65532 -g 65532,65533", 3},
	{"other", asThird, 0},
}

// permMatrix makes, for each caller class and op, a case where the class
// has exactly the bits the op needs (allowed), and for each needed bit a
// case where the class lacks it but every other class has everything
// (denied: EACCES).
func permMatrix(setup []string, obj string, ops []permOp) []tcase {
	var out []tcase
	for _, cl := range callerClasses {
		for _, op := range ops {
			name := fmt.Sprintf("%s %s", cl.name, op.name)
			out = append(out, tcase{name: name + " allowed",
				setup: append(append([]string{}, setup...), fmt.Sprintf("chmod %s %#o", obj, op.need<<cl.shift)),
				op:    cl.as + " " + op.op})
			for _, bit := range []uint32{4, 2, 1} {
				if op.need&bit == 0 {
					continue
				}
				mode := 0o777 &^ (bit << cl.shift)
				out = append(out, tcase{name: fmt.Sprintf("%s denied without %c", name, "xw r"[bit-1]),
					setup: append(append([]string{}, setup...), fmt.Sprintf("chmod %s %#o", obj, mode)),
					op:    cl.as + " " + op.op, want: syscall.EACCES})
			}
		}
	}
	return out
}

// aclCases are POSIX.1e access and default ACLs: named entries grant
// what the mode bits do not, the mask caps them, chmod rewrites the mask,
// and a default ACL replaces the umask for new entries.
func aclCases() []tcase {
	file := func(acl string) []string {
		return []string{"create n0 0644", "setfacl access n0 " + acl}
	}
	const third = "u::rw-,u:65532:r--,g::---,m::r--,o::---"
	dflt := []string{"mkdir n0 0755", "setfacl default n0 u::rwx,u:65532:rwx,g::r-x,m::rwx,o::---"}
	return []tcase{
		{name: "named user reads", setup: file(third), op: asThird + " open n0 O_RDONLY",
			check: []check{perm("n0", 0o640)}},
		{name: "named user EACCES write", setup: file(third), op: asThird + " open n0 O_WRONLY", want: syscall.EACCES},
		{name: "other EACCES", setup: file(third), op: asOther + " open n0 O_RDONLY", want: syscall.EACCES},
		{name: "mask caps named user", setup: file("u::rw-,u:65532:rw-,g::---,m::r--,o::---"),
			op: asThird + " open n0 O_WRONLY", want: syscall.EACCES},
		{name: "named group writes", setup: file("u::rw-,g::---,g:65533:rw-,m::rw-,o::---"),
			op: asOther + " open n0 O_WRONLY"},
		{name: "named group via supplementary", setup: file("u::rw-,g::---,g:65533:rw-,m::rw-,o::---"),
			op: "-u 65532 -g 65532,65533 open n0 O_RDWR"},
		{name: "chmod rewrites mask", setup: append(file("u::rw-,u:65532:rw-,g::---,m::rw-,o::---"), "chmod n0 0600"),
			op: asThird + " open n0 O_RDONLY", want: syscall.EACCES},
		{name: "default ACL on new file", setup: dflt, op: "create n0/n1 0666",
			check: []check{perm("n0/n1", 0o660)}},
		{name: "default ACL replaces umask", setup: dflt, op: "-U 077 create n0/n1 0666",
			check: []check{perm("n0/n1", 0o660)}},
		{name: "inherited entry grants", setup: append(dflt, "create n0/n1 0666"), op: asThird + " open n0/n1 O_RDWR"},
		{name: "inherited entry on subdirectory", setup: append(dflt, "mkdir n0/n1 0777"),
			op: asThird + " create n0/n1/n2 0644", check: []check{perm("n0/n1", 0o770), owner("n0/n1/n2", 65532, 65532)}},
	}
}
