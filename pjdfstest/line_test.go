package pjdfstest

import (
	"fmt"
	"strconv"
	"strings"
)

// A line is one invocation of upstream pjdfstest's helper program, in its
// syntax:
//
//	[-u UID] [-g GID[,GID...]] [-U UMASK] OP ARG... [: OP ARG...]
//
// -u and -g name the caller (the first group is the primary one, all of
// them are the supplementary groups), -U its umask. The ops of a line run
// in order and share descriptors: "open n0 O_RDWR : ftruncate 0 5" opens
// n0 as descriptor 0, then truncates through it. A line stops at its first
// failing op; its result is that op's errno. Paths are relative to the
// case's directory.
type line struct {
	text  string
	uid   int      // -1: root, in process
	gids  []uint32 // -g; nil: the same as uid
	umask int      // -1: the process umask (022)
	ops   [][]string
}

// child reports whether the line must run in a helper process: it names a
// caller or a umask, which a Go process cannot switch safely per thread.
func (l *line) child() bool { return l.uid >= 0 || l.gids != nil || l.umask >= 0 }

func parseLine(text string) (*line, error) {
	l := &line{text: text, uid: -1, umask: -1}
	f := strings.Fields(text)
	for len(f) >= 2 && strings.HasPrefix(f[0], "-") {
		switch f[0] {
		case "-u":
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("line %q: -u: %w", text, err)
			}
			l.uid = int(n)
		case "-g":
			for _, g := range strings.Split(f[1], ",") {
				n, err := strconv.ParseUint(g, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("line %q: -g: %w", text, err)
				}
				l.gids = append(l.gids, uint32(n))
			}
		case "-U":
			n, err := strconv.ParseUint(f[1], 8, 32)
			if err != nil {
				return nil, fmt.Errorf("line %q: -U: %w", text, err)
			}
			l.umask = int(n)
		default:
			return nil, fmt.Errorf("line %q: unknown option %s", text, f[0])
		}
		f = f[2:]
	}
	var op []string
	for _, w := range f {
		if w == ":" {
			l.ops = append(l.ops, op)
			op = nil
			continue
		}
		op = append(op, w)
	}
	l.ops = append(l.ops, op)
	for _, op := range l.ops {
		if len(op) == 0 {
			return nil, fmt.Errorf("line %q: empty operation", text)
		}
		spec, ok := ops[op[0]]
		if !ok {
			return nil, fmt.Errorf("line %q: unknown operation %s", text, op[0])
		}
		if n := len(op) - 1; n < spec.min || n > spec.max {
			return nil, fmt.Errorf("line %q: %s takes %d..%d arguments, got %d", text, op[0], spec.min, spec.max, n)
		}
	}
	return l, nil
}

// opsText returns the line without its caller options, as the helper runs it.
func (l *line) opsText() string {
	var b strings.Builder
	for i, op := range l.ops {
		if i > 0 {
			b.WriteString(" : ")
		}
		b.WriteString(strings.Join(op, " "))
	}
	return b.String()
}

// cred returns the line's caller: uid, primary gid and groups. A line with
// -g but no -u runs as root with those groups.
func (l *line) cred() (uid, gid uint32, groups []uint32) {
	if l.uid >= 0 {
		uid = uint32(l.uid)
	}
	switch {
	case l.gids != nil:
		return uid, l.gids[0], l.gids
	case l.uid > 0:
		return uid, uid, []uint32{uid}
	}
	return uid, 0, []uint32{0}
}
