package metaservice

import (
	"context"
	"syscall"
)

// NewNode describes an inode to create under a directory.
type NewNode struct {
	Mode   uint32 // type bits and permission bits requested
	Umask  uint32 // applied unless the parent has a default ACL
	Rdev   uint32 // device number of a character or block device
	Target string // symlink target
	// Exclusive makes an existing entry an EEXIST error (O_EXCL). Without
	// it, Create on an existing regular file returns that file.
	Exclusive bool
}

// Mknod creates a regular file, fifo, socket or device node.
func (s *Service) Mknod(ctx context.Context, c *Cred, parent Ino, name string, n NewNode) (*Attr, error) {
	switch n.Mode & syscall.S_IFMT {
	case 0:
		n.Mode |= syscall.S_IFREG
	case syscall.S_IFREG, syscall.S_IFIFO, syscall.S_IFSOCK:
	case syscall.S_IFCHR, syscall.S_IFBLK:
		if c.Uid != 0 {
			return nil, errnof(syscall.EPERM, "mknod device %q: uid %d is not root", name, c.Uid)
		}
	default:
		return nil, errnof(syscall.EINVAL, "mknod %q: type %o", name, n.Mode&syscall.S_IFMT)
	}
	n.Exclusive = true
	return s.create(ctx, c, parent, name, n, 0)
}

// Mkdir creates a directory.
func (s *Service) Mkdir(ctx context.Context, c *Cred, parent Ino, name string, n NewNode) (*Attr, error) {
	n.Mode = syscall.S_IFDIR | n.Mode&07777
	n.Exclusive = true
	return s.create(ctx, c, parent, name, n, 0)
}

// Symlink creates a symbolic link to target.
func (s *Service) Symlink(ctx context.Context, c *Cred, parent Ino, name, target string) (*Attr, error) {
	if len(target) == 0 || len(target) > MaxSymlinkLen {
		return nil, errnof(syscall.ENAMETOOLONG, "symlink target of %d bytes", len(target))
	}
	n := NewNode{Mode: syscall.S_IFLNK | 0777, Target: target, Exclusive: true}
	return s.create(ctx, c, parent, name, n, 0)
}

// Create creates (or with !Exclusive, opens an existing) regular file and
// registers it as open by session, all in one transaction.
func (s *Service) Create(ctx context.Context, c *Cred, parent Ino, name string, n NewNode, session uint64) (*Attr, error) {
	n.Mode = syscall.S_IFREG | n.Mode&07777
	return s.create(ctx, c, parent, name, n, session)
}

func (s *Service) create(ctx context.Context, c *Cred, parent Ino, name string, n NewNode, session uint64) (*Attr, error) {
	return s.createThen(ctx, c, parent, name, n, session, nil)
}

// createThen is create, with made (if not nil) called in the transaction
// for an inode it makes (not for an existing file it opens).
func (s *Service) createThen(ctx context.Context, c *Cred, parent Ino, name string, n NewNode, session uint64, made func(*tx, *Attr)) (*Attr, error) {
	hold := s.holder(ctx)
	if err := checkNewName(name); err != nil {
		return nil, err
	}
	var out *Attr
	err := s.update(ctx, func(t *tx) error {
		dir, d, err := t.dirAndDentry(parent, name)
		if err != nil {
			return err
		}
		if dir.Nlink == 0 {
			return errnof(syscall.ENOENT, "directory %d was removed", parent)
		}
		if d != nil {
			out, err = t.existing(c, d, n, session)
			return err
		}
		if err := t.mayChangeDir(dir, c); err != nil {
			return err
		}
		// The number comes from the directory's child shard; reserving a
		// batch is a transaction of its own, so a retry of this one only
		// skips a number.
		ino, err := s.newIno(ctx, dir.ChildShard)
		if err != nil {
			return err
		}
		out, err = t.newInode(c, dir, ino, n)
		if err != nil {
			return err
		}
		t.putDentry(parent, name, &Dentry{Ino: ino, Type: out.Type()})
		if out.IsDir() {
			dir.Nlink++
		}
		dir.Mtime, dir.Ctime = t.now, t.now
		t.putAttr(dir)
		if made != nil {
			made(t, out)
		}
		if session != 0 {
			// A new inode has no opens to read first.
			t.putOpens(ino, openTable{session: 1})
		}
		return nil
	})
	if err == nil {
		hold([]Ino{out.Ino})
	}
	return out, err
}

// existing handles a create whose name is taken: EEXIST, unless it is a
// non-exclusive create of a regular file, which opens that file.
func (t *tx) existing(c *Cred, d *Dentry, n NewNode, session uint64) (*Attr, error) {
	if n.Exclusive || n.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, errnof(syscall.EEXIST, "inode %d", d.Ino)
	}
	a, err := t.attr(d.Ino)
	if err != nil {
		return nil, err
	}
	if a.IsDir() {
		return nil, errnof(syscall.EISDIR, "inode %d", d.Ino)
	}
	if err := t.access(a, c, MayWrite); err != nil {
		return nil, err
	}
	if session != 0 {
		if err := t.addOpen(a.Ino, session); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// newInode writes a new inode's attributes, applying the umask or the
// parent's default ACL, and the setgid-directory rules.
func (t *tx) newInode(c *Cred, dir *Attr, ino Ino, n NewNode) (*Attr, error) {
	a := &Attr{Ino: ino, Mode: n.Mode, Uid: c.Uid, Gid: c.Gid, Rdev: n.Rdev,
		Atime: t.now, Mtime: t.now, Ctime: t.now, Parent: dir.Ino, Target: n.Target, Nlink: 1}
	if a.IsDir() {
		a.Nlink = 2
		a.ChildShard = dir.ChildShard
	}
	a.BlocksKnown = a.Type() == syscall.S_IFREG
	if a.Type() == syscall.S_IFLNK {
		a.Size = uint64(len(n.Target))
	}
	if dir.Mode&syscall.S_ISGID != 0 {
		a.Gid = dir.Gid
		if a.IsDir() {
			a.Mode |= syscall.S_ISGID
		}
	}
	if !a.IsDir() && a.Mode&(syscall.S_ISGID|syscall.S_IXGRP) == syscall.S_ISGID|syscall.S_IXGRP &&
		c.Uid != 0 && !c.inGroup(a.Gid) {
		a.Mode &^= syscall.S_ISGID
	}
	if err := t.applyCreateACL(dir, a, n.Umask); err != nil {
		return nil, err
	}
	t.putAttr(a)
	t.usageDelta(ino.Shard(), 1, 0)
	return a, nil
}

// applyCreateACL gives a new inode its parent's default ACL (and a
// directory the default ACL itself), or applies the umask when the parent
// has none.
func (t *tx) applyCreateACL(dir, a *Attr, umask uint32) error {
	if a.Type() == syscall.S_IFLNK {
		return nil
	}
	def, err := t.defaultACL(dir)
	if err != nil {
		return err
	}
	if def == nil {
		a.Mode &^= umask & 0777
		return nil
	}
	access, mode := def.inherit(a.Mode)
	a.Mode = mode
	if a.IsDir() {
		t.mustSet(xattrKey(a.Ino, xattrACLDefault), def.encode())
		a.HasDefaultACL = true
	}
	if !access.isMinimal() {
		t.mustSet(xattrKey(a.Ino, xattrACLAccess), access.encode())
		a.HasACL = true
	}
	return nil
}

func (t *tx) defaultACL(dir *Attr) (acl, error) {
	if !dir.HasDefaultACL {
		return nil, nil
	}
	v, err := t.Get(xattrKey(dir.Ino, xattrACLDefault))
	if err != nil || v == nil {
		return nil, err
	}
	return parseACL(v)
}

// Link gives inode ino another name.
func (s *Service) Link(ctx context.Context, c *Cred, ino, parent Ino, name string) (*Attr, error) {
	hold := s.holder(ctx)
	if err := checkNewName(name); err != nil {
		return nil, err
	}
	var out *Attr
	err := s.update(ctx, func(t *tx) error {
		dir, d, err := t.dirAndDentry(parent, name)
		if err != nil {
			return err
		}
		a, err := t.attr(ino)
		if err != nil {
			return err
		}
		switch {
		case a.IsDir():
			return errnof(syscall.EPERM, "link to directory %d", ino)
		case d != nil:
			return errnof(syscall.EEXIST, "%q in directory %d", name, parent)
		case dir.Nlink == 0:
			return errnof(syscall.ENOENT, "directory %d was removed", parent)
		case a.Nlink == 0:
			return errnof(syscall.ENOENT, "inode %d was unlinked", ino)
		case a.Nlink >= maxLinks:
			return errnof(syscall.EMLINK, "inode %d has %d links", ino, a.Nlink)
		}
		if err := t.mayChangeDir(dir, c); err != nil {
			return err
		}
		a.Nlink++
		a.Ctime = t.now
		a.Parent = parent
		t.putAttr(a)
		t.putDentry(parent, name, &Dentry{Ino: ino, Type: a.Type()})
		dir.Mtime, dir.Ctime = t.now, t.now
		t.putAttr(dir)
		out = a
		return nil
	})
	if err == nil {
		hold([]Ino{out.Ino})
	}
	return out, err
}

// maxLinks is the most names one inode may have.
const maxLinks = 1<<31 - 1
