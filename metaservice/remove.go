package metaservice

import (
	"context"
	"syscall"
)

// Unlink removes name from parent. The inode goes when its last name does,
// unless a session still has it open: then it stays as an orphan until the
// last close (or its session's death).
func (s *Service) Unlink(ctx context.Context, c *Cred, parent Ino, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		dir, a, err := t.victim(c, parent, name)
		if err != nil {
			return err
		}
		if a.IsDir() {
			return errnof(syscall.EISDIR, "unlink %q in %d", name, parent)
		}
		if isPolicyFile(name, a) {
			t.dropPolicy(parent)
		}
		t.deleteDentry(parent, name)
		dir.Mtime, dir.Ctime = t.now, t.now
		t.putAttr(dir)
		return t.dropLink(a)
	})
}

// Rmdir removes the empty directory name from parent.
func (s *Service) Rmdir(ctx context.Context, c *Cred, parent Ino, name string) error {
	switch name {
	case ".":
		return errnof(syscall.EINVAL, "rmdir \".\"")
	case "..":
		return errnof(syscall.ENOTEMPTY, "rmdir \"..\"")
	}
	if err := checkName(name); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		dir, a, err := t.victim(c, parent, name)
		if err != nil {
			return err
		}
		if !a.IsDir() {
			return errnof(syscall.ENOTDIR, "rmdir %q in %d", name, parent)
		}
		if err := t.mustBeEmpty(a); err != nil {
			return err
		}
		t.deleteDentry(parent, name)
		dir.Nlink--
		dir.Mtime, dir.Ctime = t.now, t.now
		t.putAttr(dir)
		return t.dropDir(a)
	})
}

// dropDir removes an empty directory whose dentry is gone: at once, or,
// while a session has it open, as an orphan that stays readable through
// its open descriptors until the last close. A shard root takes its shard
// into retirement.
func (t *tx) dropDir(a *Attr) error {
	if a.ChildShard != a.Ino.Shard() {
		if err := t.retireShard(a); err != nil {
			return err
		}
	}
	a.Nlink = 0
	a.Ctime = t.now
	open, err := t.isOpen(a.Ino)
	if err != nil {
		return err
	}
	if !open {
		return t.purge(a)
	}
	t.putAttr(a)
	t.mustSet(orphanKey(a.Ino), encodeUint(uint64(t.now)))
	t.onCommit(t.s.policies.invalidate)
	return nil
}

// victim reads parent and the inode name refers to, and checks that c may
// remove that entry.
func (t *tx) victim(c *Cred, parent Ino, name string) (dir, a *Attr, err error) {
	dir, d, err := t.dirAndDentry(parent, name)
	if err != nil {
		return nil, nil, err
	}
	if d == nil {
		return nil, nil, errnof(syscall.ENOENT, "%q in directory %d", name, parent)
	}
	if a, err = t.attr(d.Ino); err != nil {
		return nil, nil, err
	}
	if err := t.mayDelete(dir, a, c); err != nil {
		return nil, nil, err
	}
	return dir, a, nil
}

func (t *tx) mustBeEmpty(a *Attr) error {
	empty, err := t.dirEmpty(a.Ino)
	if err != nil {
		return err
	}
	if !empty {
		return errnof(syscall.ENOTEMPTY, "directory %d", a.Ino)
	}
	return nil
}

// dropLink takes one link from a non-directory inode and frees it, or
// keeps it as an orphan while it is open, when that was the last.
func (t *tx) dropLink(a *Attr) error {
	a.Nlink--
	a.Ctime = t.now
	if a.Nlink > 0 {
		t.putAttr(a)
		return nil
	}
	open, err := t.isOpen(a.Ino)
	if err != nil {
		return err
	}
	if open {
		t.putAttr(a)
		t.mustSet(orphanKey(a.Ino), encodeUint(uint64(t.now)))
		return nil
	}
	return t.purge(a)
}

// purge deletes an inode and everything keyed by it; its chunks go to the
// deletion queue for the dataservers to reclaim.
func (t *tx) purge(a *Attr) error {
	if _, err := t.releaseChunks(a.Ino, 0); err != nil {
		return err
	}
	if err := t.deletePrefix(xattrPrefix(a.Ino)); err != nil {
		return err
	}
	t.mustDelete(openKey(a.Ino))
	t.mustDelete(attrKey(a.Ino))
	t.mustDelete(orphanKey(a.Ino))
	t.mustDelete(locksKey(a.Ino))
	if a.IsDir() {
		t.mustDelete(policyKey(a.Ino))
		t.onCommit(t.s.policies.invalidate)
	}
	t.usageDelta(a.Ino.Shard(), -1, -int64(a.Allocated()))
	return nil
}

// deletePrefix deletes every key with the prefix.
func (t *tx) deletePrefix(prefix []byte) error {
	var keys [][]byte
	err := t.Scan(prefix, prefixEnd(prefix), 0, func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	for _, k := range keys {
		t.mustDelete(k)
	}
	return err
}
