package pjdfstest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// interp runs the ops of lines against one directory. Root's lines run in
// the test process, everyone else's in a helper; both use interp, so an
// op means the same system call either way. Every path op is the *at
// form relative to dir, so a path of PATH_MAX-1 bytes is not lengthened
// by the case directory's own path.
type interp struct {
	dir int   // O_PATH descriptor of the case directory
	fds []int // descriptors opened by the current line, by position
}

// runLine runs l's ops in order and returns the first failure's errno.
// Descriptors the line opened are closed when it ends.
func (in *interp) runLine(l *line) syscall.Errno {
	defer func() {
		for _, fd := range in.fds {
			unix.Close(fd)
		}
		in.fds = nil
	}()
	for _, op := range l.ops {
		if err := ops[op[0]].fn(in, args(op[1:])); err != nil {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				return errno
			}
			// Only malformed arguments get here, and parseLine and the
			// tables are the test's own: make it loud.
			panic(fmt.Sprintf("%s: %v", l.text, err))
		}
	}
	return 0
}

type opSpec struct {
	min, max int // argument count
	fn       func(*interp, args) error
}

// ops are named, and take their arguments in the order, of upstream
// pjdfstest's helper, where it has the op.
var ops = map[string]opSpec{
	"create":    {2, 2, opCreate},
	"open":      {2, 3, opOpen},
	"close":     {1, 1, func(in *interp, a args) error { return unix.Close(in.fd(a[0])) }},
	"write":     {2, 2, opWrite},
	"mkdir":     {2, 2, func(in *interp, a args) error { return unix.Mkdirat(in.dir, a[0], a.mode(1)) }},
	"mkfifo":    {2, 2, func(in *interp, a args) error { return unix.Mknodat(in.dir, a[0], unix.S_IFIFO|a.mode(1), 0) }},
	"mknod":     {5, 5, opMknod},
	"symlink":   {2, 2, func(in *interp, a args) error { return unix.Symlinkat(a[0], in.dir, a[1]) }},
	"link":      {2, 2, func(in *interp, a args) error { return unix.Linkat(in.dir, a[0], in.dir, a[1], 0) }},
	"unlink":    {1, 1, func(in *interp, a args) error { return unix.Unlinkat(in.dir, a[0], 0) }},
	"rmdir":     {1, 1, func(in *interp, a args) error { return unix.Unlinkat(in.dir, a[0], unix.AT_REMOVEDIR) }},
	"rename":    {2, 2, func(in *interp, a args) error { return unix.Renameat(in.dir, a[0], in.dir, a[1]) }},
	"renameat2": {3, 3, func(in *interp, a args) error { return unix.Renameat2(in.dir, a[0], in.dir, a[1], uint(a.flags(2))) }},
	"chmod":     {2, 2, func(in *interp, a args) error { return unix.Fchmodat(in.dir, a[0], a.mode(1), 0) }},
	"fchmod":    {2, 2, func(in *interp, a args) error { return unix.Fchmod(in.fd(a[0]), a.mode(1)) }},
	"chown":     {3, 3, func(in *interp, a args) error { return unix.Fchownat(in.dir, a[0], a.int(1), a.int(2), 0) }},
	"lchown": {3, 3, func(in *interp, a args) error {
		return unix.Fchownat(in.dir, a[0], a.int(1), a.int(2), unix.AT_SYMLINK_NOFOLLOW)
	}},
	"fchown":    {3, 3, func(in *interp, a args) error { return unix.Fchown(in.fd(a[0]), a.int(1), a.int(2)) }},
	"truncate":  {2, 2, opTruncate},
	"ftruncate": {2, 2, func(in *interp, a args) error { return unix.Ftruncate(in.fd(a[0]), a.num(1)) }},
	"fallocate": {4, 4, func(in *interp, a args) error {
		return unix.Fallocate(in.fd(a[0]), uint32(a.flags(1)), a.num(2), a.num(3))
	}},
	"utimensat": {6, 6, opUtimensat},
	// utimensat with times NULL: both to the current time.
	"utimensat_null": {2, 2, opUtimensatNull},
	"fstat": {1, 1, func(in *interp, a args) error {
		var st unix.Stat_t
		return unix.Fstat(in.fd(a[0]), &st)
	}},
	"stat":    {1, 1, func(in *interp, a args) error { return in.fstatat(a[0], 0) }},
	"lstat":   {1, 1, func(in *interp, a args) error { return in.fstatat(a[0], unix.AT_SYMLINK_NOFOLLOW) }},
	"setfacl": {3, 3, opSetfacl},
	"access":  {2, 2, func(in *interp, a args) error { return unix.Faccessat(in.dir, a[0], uint32(a.flags(1)), 0) }},
}

// args are an op's arguments. The accessors panic on malformed values:
// those are mistakes in the test tables, not filesystem behaviour.
type args []string

// num parses a number; a leading 0 means octal, as in pjdfstest.
func (a args) num(i int) int64 {
	n, err := strconv.ParseInt(a[i], 0, 64)
	if err != nil {
		panic(fmt.Sprintf("argument %q: %v", a[i], err))
	}
	return n
}

func (a args) int(i int) int     { return int(a.num(i)) }
func (a args) mode(i int) uint32 { return uint32(a.num(i)) }

// flags parses NAME[,NAME...] (or a number) into a flag word.
func (a args) flags(i int) int {
	var v int
	for _, name := range strings.Split(a[i], ",") {
		f, ok := flagNames[name]
		if !ok {
			n, err := strconv.ParseInt(name, 0, 64)
			if err != nil {
				panic(fmt.Sprintf("unknown flag %q", name))
			}
			f = int(n)
		}
		v |= f
	}
	return v
}

var flagNames = map[string]int{
	"O_RDONLY": unix.O_RDONLY, "O_WRONLY": unix.O_WRONLY, "O_RDWR": unix.O_RDWR,
	"O_CREAT": unix.O_CREAT, "O_EXCL": unix.O_EXCL, "O_TRUNC": unix.O_TRUNC,
	"O_APPEND": unix.O_APPEND, "O_NONBLOCK": unix.O_NONBLOCK, "O_DIRECTORY": unix.O_DIRECTORY,
	"O_NOFOLLOW": unix.O_NOFOLLOW, "O_SYNC": unix.O_SYNC, "O_PATH": unix.O_PATH,
	"O_NOCTTY":         unix.O_NOCTTY,
	"RENAME_NOREPLACE": unix.RENAME_NOREPLACE, "RENAME_EXCHANGE": unix.RENAME_EXCHANGE,
	"RENAME_WHITEOUT":     unix.RENAME_WHITEOUT,
	"AT_SYMLINK_NOFOLLOW": unix.AT_SYMLINK_NOFOLLOW,
	"R_OK":                unix.R_OK, "W_OK": unix.W_OK, "X_OK": unix.X_OK, "F_OK": unix.F_OK,
	"FALLOC_FL_KEEP_SIZE": unix.FALLOC_FL_KEEP_SIZE, "FALLOC_FL_PUNCH_HOLE": unix.FALLOC_FL_PUNCH_HOLE,
}

// fd resolves a descriptor argument: its position among the line's opens.
func (in *interp) fd(s string) int {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(in.fds) {
		panic(fmt.Sprintf("descriptor %q: the line opened %d", s, len(in.fds)))
	}
	return in.fds[i]
}

// opCreate is pjdfstest's create: open(O_CREAT|O_EXCL) and close.
func opCreate(in *interp, a args) error {
	fd, err := unix.Openat(in.dir, a[0], unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_CLOEXEC, a.mode(1))
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func opOpen(in *interp, a args) error {
	var mode uint32
	if len(a) > 2 {
		mode = a.mode(2)
	}
	fd, err := unix.Openat(in.dir, a[0], a.flags(1)|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	in.fds = append(in.fds, fd)
	return nil
}

func opWrite(in *interp, a args) error {
	n, err := unix.Write(in.fd(a[0]), []byte(a[1]))
	if err == nil && n != len(a[1]) {
		return syscall.EIO // a short write of a few bytes means something broke
	}
	return err
}

// opMknod: mknod PATH KIND MODE MAJOR MINOR, KIND one of f (regular), d,
// p (fifo), b, c, s (socket).
func opMknod(in *interp, a args) error {
	kinds := map[string]uint32{"f": unix.S_IFREG, "d": unix.S_IFDIR, "p": unix.S_IFIFO,
		"b": unix.S_IFBLK, "c": unix.S_IFCHR, "s": unix.S_IFSOCK}
	kind, ok := kinds[a[1]]
	if !ok {
		panic(fmt.Sprintf("mknod kind %q", a[1]))
	}
	dev := unix.Mkdev(uint32(a.num(3)), uint32(a.num(4)))
	return unix.Mknodat(in.dir, a[0], kind|a.mode(2), int(dev))
}

// opTruncate is truncate(2) on a path relative to the case directory.
// Linux has no truncateat: the path is resolved by an O_PATH open (the
// same lookup, following symlinks) and truncated through its /proc magic
// link, which checks write permission on the file as truncate does.
func opTruncate(in *interp, a args) error {
	fd, err := unix.Openat(in.dir, a[0], unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Truncate(fmt.Sprintf("/proc/self/fd/%d", fd), a.num(1))
}

// opUtimensat: utimensat PATH ASEC ANSEC MSEC MNSEC FLAGS; a nanosecond
// field may be UTIME_NOW or UTIME_OMIT.
func opUtimensat(in *interp, a args) error {
	nsec := func(i int) int64 {
		switch a[i] {
		case "UTIME_NOW":
			return unix.UTIME_NOW
		case "UTIME_OMIT":
			return unix.UTIME_OMIT
		}
		return a.num(i)
	}
	ts := []unix.Timespec{{Sec: a.num(1), Nsec: nsec(2)}, {Sec: a.num(3), Nsec: nsec(4)}}
	return unix.UtimesNanoAt(in.dir, a[0], ts, a.flags(5))
}

func opUtimensatNull(in *interp, a args) error {
	p, err := unix.BytePtrFromString(a[0])
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(in.dir), uintptr(unsafe.Pointer(p)), 0,
		uintptr(a.flags(1)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func (in *interp) fstatat(path string, flags int) error {
	var st unix.Stat_t
	return unix.Fstatat(in.dir, path, &st, flags)
}

// opSetfacl: setfacl access|default PATH ENTRIES, ENTRIES as in
// setfacl(1)'s short form: u::rw-,u:65534:r--,g::r--,m::r--,o::---.
func opSetfacl(in *interp, a args) error {
	name := map[string]string{"access": "system.posix_acl_access", "default": "system.posix_acl_default"}[a[0]]
	if name == "" {
		panic(fmt.Sprintf("setfacl kind %q", a[0]))
	}
	value, err := encodeACL(a[2])
	if err != nil {
		panic(err.Error())
	}
	fd, err := unix.Openat(in.dir, a[1], unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d", fd), name, value, 0)
}

// encodeACL builds the kernel's xattr form of a POSIX ACL (version 2, then
// tag, perm, id per entry).
func encodeACL(spec string) ([]byte, error) {
	const (
		userObj, user, groupObj, group, mask, other = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
	)
	out := []byte{2, 0, 0, 0}
	for _, e := range strings.Split(spec, ",") {
		f := strings.Split(e, ":")
		if len(f) != 3 || len(f[2]) != 3 {
			return nil, fmt.Errorf("acl entry %q", e)
		}
		var tag uint16
		id := uint32(math.MaxUint32)
		switch {
		case f[0] == "u" && f[1] == "":
			tag = userObj
		case f[0] == "u":
			tag = user
		case f[0] == "g" && f[1] == "":
			tag = groupObj
		case f[0] == "g":
			tag = group
		case f[0] == "m":
			tag = mask
		case f[0] == "o":
			tag = other
		default:
			return nil, fmt.Errorf("acl entry %q", e)
		}
		if tag == user || tag == group {
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("acl entry %q: %w", e, err)
			}
			id = uint32(n)
		}
		var perm uint16
		for i, bit := range []uint16{4, 2, 1} {
			if f[2][i] != '-' {
				perm |= bit
			}
		}
		out = append(out, byte(tag), byte(tag>>8), byte(perm), byte(perm>>8),
			byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
	}
	return out, nil
}
