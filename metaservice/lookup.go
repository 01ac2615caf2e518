package metaservice

import (
	"context"
	"syscall"
)

// Lookup resolves name in directory parent. "." and ".." resolve to the
// directory and its parent. It costs two KV round trips: the directory's
// attributes and the dentry in one batch, then the child's attributes.
func (s *Service) Lookup(ctx context.Context, c *Cred, parent Ino, name string) (*Attr, error) {
	hold := s.holder(ctx)
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *Attr
	err := s.view(ctx, func(t *tx) error {
		dir, d, err := t.dirAndDentry(parent, name)
		if err != nil {
			return err
		}
		if err := t.access(dir, c, MayExec); err != nil {
			return err
		}
		switch {
		case name == ".":
			out = dir
			return nil
		case name == "..":
			out, err = t.attr(dir.Parent)
			return err
		case d == nil:
			return errnof(syscall.ENOENT, "%q in directory %d", name, parent)
		}
		out, err = t.attr(d.Ino)
		return err
	})
	if err == nil {
		hold([]Ino{out.Ino}, parent)
	} else if IsErrno(err, syscall.ENOENT) {
		hold(nil, parent)
	}
	return out, err
}

// dirAndDentry reads a directory's attributes and one of its dentries in
// one batch. The dentry is nil when absent.
func (t *tx) dirAndDentry(dir Ino, name string) (*Attr, *Dentry, error) {
	ak, dk := attrKey(dir), dentryKey(dir, name)
	vals, err := t.BatchGet([][]byte{ak, dk})
	if err != nil {
		return nil, nil, err
	}
	av, ok := vals[string(ak)]
	if !ok {
		return nil, nil, errnof(syscall.ENOENT, "directory %d", dir)
	}
	a := new(Attr)
	if err := decode(ak, av, a); err != nil {
		return nil, nil, err
	}
	if !a.IsDir() {
		return nil, nil, errnof(syscall.ENOTDIR, "inode %d", dir)
	}
	dv, ok := vals[string(dk)]
	if !ok {
		return a, nil, nil
	}
	d := new(Dentry)
	if err := decode(dk, dv, d); err != nil {
		return nil, nil, err
	}
	return a, d, nil
}

// GetAttr returns an inode's attributes: one point read.
func (s *Service) GetAttr(ctx context.Context, ino Ino) (*Attr, error) {
	hold := s.holder(ctx)
	var out *Attr
	err := s.view(ctx, func(t *tx) error {
		var err error
		out, err = t.attr(ino)
		return err
	})
	if err == nil {
		hold([]Ino{out.Ino})
	}
	return out, err
}

// ReadLink returns a symlink's target.
func (s *Service) ReadLink(ctx context.Context, ino Ino) (string, error) {
	a, err := s.GetAttr(ctx, ino)
	if err != nil {
		return "", err
	}
	if a.Type() != syscall.S_IFLNK {
		return "", errnof(syscall.EINVAL, "inode %d is not a symlink", ino)
	}
	return a.Target, nil
}

// Access checks whether c may access ino with mask (MayRead|MayWrite|
// MayExec; 0 checks existence), as access(2).
func (s *Service) Access(ctx context.Context, c *Cred, ino Ino, mask uint32) error {
	return s.view(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if err != nil || mask == 0 {
			return err
		}
		return t.access(a, c, mask)
	})
}
