package metaservice

import (
	"context"
	"strings"
	"syscall"
)

// Xattr flags, as setxattr(2).
const (
	XattrCreate  = 1
	XattrReplace = 2
)

// xattrCaps holds a file's capabilities (setcap).
const xattrCaps = "security.capability"

// Limits of extended attributes, as Linux's VFS.
const (
	MaxXattrName  = 255
	MaxXattrValue = 64 << 10
	// MaxXattrList bounds the NUL-separated list of an inode's names.
	MaxXattrList = 64 << 10
)

// checkXattr validates a name and decides the permission an access needs:
// user.* follows the file's read/write permission (and exists only on
// regular files and directories), trusted.* is root's, security.* is open
// to the kernel's own checks, and system.* holds only the POSIX ACLs.
func (t *tx) checkXattr(c *Cred, a *Attr, name string, write bool) error {
	switch {
	case name == "":
		return errnof(syscall.EINVAL, "empty xattr name")
	case len(name) > MaxXattrName:
		return errnof(syscall.ERANGE, "xattr name of %d bytes", len(name))
	case strings.HasPrefix(name, "user."):
		if t := a.Type(); t != syscall.S_IFREG && t != syscall.S_IFDIR {
			if write {
				return errnof(syscall.EPERM, "user xattr on inode %d of type %o", a.Ino, t)
			}
			return errnof(syscall.ENODATA, "user xattr on inode %d of type %o", a.Ino, t)
		}
		want := uint32(MayRead)
		if write {
			want = MayWrite
			if a.Mode&syscall.S_ISVTX != 0 && a.IsDir() && !isOwner(a, c) {
				return errnof(syscall.EPERM, "user xattr on sticky directory %d", a.Ino)
			}
		}
		return t.access(a, c, want)
	case strings.HasPrefix(name, "trusted."):
		if c.Uid != 0 {
			return errnof(syscall.EPERM, "trusted xattr: uid %d is not root", c.Uid)
		}
	case strings.HasPrefix(name, "security."):
	case name == xattrACLAccess, name == xattrACLDefault:
		if write && !isOwner(a, c) {
			return errnof(syscall.EPERM, "set acl of inode %d: uid %d is not the owner", a.Ino, c.Uid)
		}
	default:
		return errnof(syscall.EOPNOTSUPP, "xattr namespace of %q", name)
	}
	return nil
}

// xattr reads ino's attributes and the current value of its xattr name
// (nil if unset), after checking that c may read it (or, with write,
// change it).
func (t *tx) xattr(c *Cred, ino Ino, name string, write bool) (*Attr, []byte, error) {
	a, err := t.attr(ino)
	if err != nil {
		return nil, nil, err
	}
	if err := t.checkXattr(c, a, name, write); err != nil {
		return nil, nil, err
	}
	v, err := t.Get(xattrKey(ino, name))
	return a, v, err
}

// GetXattr returns the value of xattr name of ino.
func (s *Service) GetXattr(ctx context.Context, c *Cred, ino Ino, name string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(t *tx) error {
		_, v, err := t.xattr(c, ino, name, false)
		if err != nil {
			return err
		}
		if v == nil {
			return errnof(syscall.ENODATA, "xattr %q of inode %d", name, ino)
		}
		out = v
		return nil
	})
	return out, err
}

// ListXattr returns the names of ino's xattrs.
func (s *Service) ListXattr(ctx context.Context, c *Cred, ino Ino) ([]string, error) {
	var out []string
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		if _, err := t.attr(ino); err != nil {
			return err
		}
		p := xattrPrefix(ino)
		return t.Scan(p, prefixEnd(p), 0, func(k, _ []byte) bool {
			out = append(out, string(k[len(p):]))
			return true
		})
	})
	total := 0
	for _, n := range out {
		total += len(n) + 1
	}
	if err == nil && total > MaxXattrList {
		return nil, errnof(syscall.E2BIG, "xattr names of inode %d take %d bytes (limit %d)", ino, total, MaxXattrList)
	}
	return out, err
}

// SetXattr sets xattr name of ino to value. Setting a POSIX ACL updates
// the mode bits it implies; an access ACL that says no more than the mode
// is not stored, as on Linux.
func (s *Service) SetXattr(ctx context.Context, c *Cred, ino Ino, name string, value []byte, flags uint32) error {
	if len(value) > MaxXattrValue {
		return errnof(syscall.E2BIG, "xattr %q value of %d bytes", name, len(value))
	}
	if flags&^(XattrCreate|XattrReplace) != 0 || flags == XattrCreate|XattrReplace {
		return errnof(syscall.EINVAL, "setxattr flags %#x", flags)
	}
	return s.update(ctx, func(t *tx) error {
		a, old, err := t.xattr(c, ino, name, true)
		if err != nil {
			return err
		}
		k := xattrKey(ino, name)
		switch {
		case flags&XattrCreate != 0 && old != nil:
			return errnof(syscall.EEXIST, "xattr %q of inode %d", name, ino)
		case flags&XattrReplace != 0 && old == nil:
			return errnof(syscall.ENODATA, "xattr %q of inode %d", name, ino)
		}
		store, err := t.applyACLXattr(c, a, name, value)
		if err != nil {
			return err
		}
		if store {
			t.mustSet(k, append([]byte{}, value...))
		} else if old != nil {
			t.mustDelete(k)
		}
		if name == xattrCaps {
			a.HasCaps = true
		}
		a.Ctime = t.now
		t.putAttr(a)
		return nil
	})
}

// applyACLXattr handles the side effects of setting an ACL xattr and says
// whether the value is to be stored.
func (t *tx) applyACLXattr(c *Cred, a *Attr, name string, value []byte) (bool, error) {
	if name != xattrACLAccess && name != xattrACLDefault {
		return true, nil
	}
	parsed, err := parseACL(value)
	if err != nil {
		return false, err
	}
	if name == xattrACLDefault {
		if !a.IsDir() {
			return false, errnof(syscall.EACCES, "default acl on non-directory %d", a.Ino)
		}
		a.HasDefaultACL = true
		return true, nil
	}
	mode := a.Mode&^0777 | parsed.modeBits()
	if c.Uid != 0 && !c.inGroup(a.Gid) {
		mode &^= syscall.S_ISGID
	}
	a.Mode = mode
	a.HasACL = !parsed.isMinimal()
	return a.HasACL, nil
}

// RemoveXattr removes xattr name of ino.
func (s *Service) RemoveXattr(ctx context.Context, c *Cred, ino Ino, name string) error {
	return s.update(ctx, func(t *tx) error {
		a, v, err := t.xattr(c, ino, name, true)
		if err != nil {
			return err
		}
		if v == nil {
			return errnof(syscall.ENODATA, "xattr %q of inode %d", name, ino)
		}
		t.mustDelete(xattrKey(ino, name))
		switch name {
		case xattrACLAccess:
			a.HasACL = false
		case xattrACLDefault:
			a.HasDefaultACL = false
		case xattrCaps:
			a.HasCaps = false
		}
		a.Ctime = t.now
		t.putAttr(a)
		return nil
	})
}
