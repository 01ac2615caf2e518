package metaservice

import (
	"syscall"
)

// Cred is the caller of an operation, as the kernel reported it.
type Cred struct {
	Uid    uint32
	Gid    uint32
	Groups []uint32 // supplementary groups
	Pid    uint32
}

// Root is the credential of the superuser, for administrative callers.
var Root = &Cred{}

func (c *Cred) inGroup(gid uint32) bool {
	if c.Gid == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Access masks, as in access(2).
const (
	MayRead  = 4
	MayWrite = 2
	MayExec  = 1
)

// access checks whether c may access the inode with want (a MayX mask),
// honouring its POSIX access ACL.
func (t *tx) access(a *Attr, c *Cred, want uint32) error {
	if c.Uid == 0 {
		// Root bypasses read and write checks; exec needs some x bit on a
		// non-directory.
		if want&MayExec == 0 || a.IsDir() || a.Mode&0111 != 0 {
			return nil
		}
		return errnof(syscall.EACCES, "inode %d: not executable", a.Ino)
	}
	if a.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		if acl, err := t.accessACL(a); err != nil {
			return err
		} else if acl != nil {
			if acl.check(a, c, want) {
				return nil
			}
			return errnof(syscall.EACCES, "inode %d: acl denies uid %d", a.Ino, c.Uid)
		}
	}
	var bits uint32
	switch {
	case c.Uid == a.Uid:
		bits = a.Mode >> 6
	case c.inGroup(a.Gid):
		bits = a.Mode >> 3
	default:
		bits = a.Mode
	}
	if bits&7&want == want {
		return nil
	}
	return errnof(syscall.EACCES, "inode %d mode %o: uid %d wants %o", a.Ino, a.Perm(), c.Uid, want)
}

// accessACL returns an inode's access ACL, or nil if it has none. Only
// inodes flagged HasACL are looked up, so the common case costs no read.
func (t *tx) accessACL(a *Attr) (acl, error) {
	if !a.HasACL {
		return nil, nil
	}
	v, err := t.Get(xattrKey(a.Ino, xattrACLAccess))
	if err != nil || v == nil {
		return nil, err
	}
	return parseACL(v)
}

// mayChangeDir checks the write-and-search permission needed to add or
// remove entries of dir.
func (t *tx) mayChangeDir(dir *Attr, c *Cred) error {
	return t.access(dir, c, MayWrite|MayExec)
}

// mayDelete checks the sticky-bit rule on top of mayChangeDir: in a sticky
// directory only the owner of the entry, the owner of the directory or
// root may remove or rename the entry.
func (t *tx) mayDelete(dir, victim *Attr, c *Cred) error {
	if err := t.mayChangeDir(dir, c); err != nil {
		return err
	}
	if dir.Mode&syscall.S_ISVTX != 0 && c.Uid != 0 && c.Uid != dir.Uid && c.Uid != victim.Uid {
		return errnof(syscall.EPERM, "sticky directory %d: uid %d does not own inode %d", dir.Ino, c.Uid, victim.Ino)
	}
	return nil
}

// isOwner reports whether c owns a (or is root).
func isOwner(a *Attr, c *Cred) bool { return c.Uid == 0 || c.Uid == a.Uid }
