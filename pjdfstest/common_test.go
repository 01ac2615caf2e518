package pjdfstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The callers of the cases, as upstream pjdfstest uses them: 65534
// (nobody) owns the files under test, 65533 is someone else, 65532 a third
// party. Each user's primary group has the same number.
const (
	asOwner = "-u 65534 -g 65534"
	asOther = "-u 65533 -g 65533"
	asThird = "-u 65532 -g 65532"
)

// Names at and past the limits: NAME_MAX is 255 bytes, PATH_MAX 4096
// bytes with the terminating NUL.
var (
	name255 = strings.Repeat("x", 255)
	name256 = strings.Repeat("x", 256)
	// path4096 is too long by one: 4096 bytes without the NUL.
	path4096 = strings.Repeat("x/", 2048)
)

// kind is a type of file a case can make at a path.
type kind struct {
	name string
	make string // line making it; %s is the path
	ifmt uint32
	perm uint32 // its permission bits under umask 022
}

func (k kind) at(path string) string { return fmt.Sprintf(k.make, path) }

var (
	kReg   = kind{"regular", "create %s 0644", unix.S_IFREG, 0o644}
	kDir   = kind{"dir", "mkdir %s 0755", unix.S_IFDIR, 0o755}
	kFifo  = kind{"fifo", "mkfifo %s 0644", unix.S_IFIFO, 0o644}
	kBlock = kind{"block", "mknod %s b 0644 1 2", unix.S_IFBLK, 0o644}
	kChar  = kind{"char", "mknod %s c 0644 1 2", unix.S_IFCHR, 0o644}
	// A socket is made with mknod(S_IFSOCK), which reaches the filesystem
	// exactly as bind(2) does (FUSE_MKNOD), without a path length limit.
	kSock = kind{"socket", "mknod %s s 0644 0 0", unix.S_IFSOCK, 0o644}
	kLink = kind{"symlink", "symlink test %s", unix.S_IFLNK, 0o777}
)

// kinds are the types pjdfstest loops over; nonDirs the same without dir.
var (
	kinds   = []kind{kReg, kDir, kFifo, kBlock, kChar, kSock}
	nonDirs = []kind{kReg, kFifo, kBlock, kChar, kSock}
	// allKinds adds symlinks, for calls that do not follow them.
	allKinds = []kind{kReg, kDir, kFifo, kBlock, kChar, kSock, kLink}
)

// forKinds makes one case per kind.
func forKinds(ks []kind, fn func(k kind) tcase) []tcase {
	var out []tcase
	for _, k := range ks {
		c := fn(k)
		c.name += "/" + k.name
		out = append(out, c)
	}
	return out
}

// pathErrors are the path-resolution failures every path-taking call
// shares (upstream's NN/01.t to 06.t of each syscall): a component that is
// not a directory, a name or path too long, a missing component, a
// directory without search permission, a symlink loop. opFmt has one %s
// for the path under test; setup prepares the op's other arguments.
// follows says the call follows a final symlink, which adds the loop on
// the last component.
func pathErrors(opFmt string, follows bool, setup ...string) []tcase {
	op := func(p string) string { return fmt.Sprintf(opFmt, p) }
	with := func(lines ...string) []string { return append(append([]string{}, setup...), lines...) }
	cases := []tcase{
		{name: "ENOTDIR component", setup: with("create n0 0644"), op: op("n0/n1"), want: syscall.ENOTDIR},
		{name: "ENAMETOOLONG name", setup: with(), op: op(name256), want: syscall.ENAMETOOLONG},
		{name: "ENAMETOOLONG name inside", setup: with(), op: op(name256 + "/n1"), want: syscall.ENAMETOOLONG},
		{name: "ENAMETOOLONG path", setup: with(), op: op(path4096), want: syscall.ENAMETOOLONG},
		{name: "ENOENT component", setup: with(), op: op("n0/n1"), want: syscall.ENOENT},
		{name: "EACCES search", setup: with("mkdir n0 0755", "create n0/n1 0644", "chown n0 65534 65534",
			"chmod n0 0644"), op: asOwner + " " + op("n0/n1"), want: syscall.EACCES},
		{name: "ELOOP component", setup: with("symlink n0 n1", "symlink n1 n0"), op: op("n0/n2"), want: syscall.ELOOP},
	}
	if follows {
		cases = append(cases, tcase{name: "ELOOP final", setup: with("symlink n0 n1", "symlink n1 n0"),
			op: op("n0"), want: syscall.ELOOP})
	}
	return cases
}

// cases concatenates case lists.
func cases(lists ...[]tcase) []tcase {
	var out []tcase
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// prefixed names a list of cases under a common prefix.
func prefixed(prefix string, cs []tcase) []tcase {
	out := make([]tcase, len(cs))
	for i, c := range cs {
		c.name = prefix + c.name
		out[i] = c
	}
	return out
}

// runExecutable makes path a running program (a copy of sleep(1)) until
// the case ends: the text file that ETXTBSY protects.
//
// The exec must not happen in this process: while a vforked child execs,
// its parent thread keeps its P, so a stop-the-world waits for the exec,
// and an exec from the mount waits for this process's FUSE server. A
// shell execs it instead, and the case waits until /proc shows it has.
func runExecutable(path string) func(*env) {
	return func(e *env) {
		bin, err := exec.LookPath("sleep")
		require.NoError(e.t, err)
		data, err := os.ReadFile(bin)
		require.NoError(e.t, err)
		p := filepath.Join(e.dir, path)
		require.NoError(e.t, os.WriteFile(p, data, 0o755))
		// A helper forked by a parallel case may still hold the
		// descriptor we wrote with (until its own exec closes it), which
		// makes the exec fail with ETXTBSY for a moment: the race of Go
		// issue 22315. Such a shell exits; start another.
		for attempt := 0; attempt < 20; attempt++ {
			cmd := exec.Command("/bin/sh", "-c", `exec "$0" 60`, p)
			require.NoError(e.t, cmd.Start())
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			e.t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			if waitExec(cmd.Process.Pid, p, exited) {
				return
			}
		}
		e.t.Fatalf("could not run %s", p)
	}
}

// waitExec waits until process pid runs path, or exits (false).
func waitExec(pid int, path string, exited <-chan struct{}) bool {
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	for {
		if got, _ := os.Readlink(exe); got == path {
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// writeFile gives path (relative to the case directory) the content data.
func writeFile(path, data string) func(*env) {
	return func(e *env) {
		require.NoError(e.t, os.WriteFile(filepath.Join(e.dir, path), []byte(data), 0o644))
	}
}
