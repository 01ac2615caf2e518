package metaservice

import (
	"context"
	"syscall"
)

// Rename flags, as renameat2(2).
const (
	RenameNoReplace = 1 << 0
	RenameExchange  = 1 << 1
	RenameWhiteout  = 1 << 2
)

// Rename moves srcName in srcDir to dstName in dstDir in one transaction,
// replacing an existing target atomically. With RenameNoReplace an existing
// target is EEXIST; with RenameExchange both names must exist and swap.
// Across shards the inode keeps its number (and so its home shard).
func (s *Service) Rename(ctx context.Context, c *Cred, srcDir Ino, srcName string, dstDir Ino, dstName string, flags uint32) error {
	if flags&^(RenameNoReplace|RenameExchange) != 0 || flags == RenameNoReplace|RenameExchange {
		return errnof(syscall.EINVAL, "rename flags %#x", flags)
	}
	for _, n := range []string{srcName, dstName} {
		if n == "." || n == ".." {
			return errnof(syscall.EINVAL, "rename %q", n)
		}
		if err := checkName(n); err != nil {
			return err
		}
	}
	return s.update(ctx, func(t *tx) error {
		r := &renameOp{t: t, c: c, attrs: map[Ino]*Attr{}, flags: flags}
		return r.run(srcDir, srcName, dstDir, dstName)
	})
}

// renameOp is one rename inside a transaction. attrs memoises every inode
// read, so an inode reached twice (the target directory is also the source
// entry's parent, say) is one object and no write clobbers another.
type renameOp struct {
	t     *tx
	c     *Cred
	flags uint32
	attrs map[Ino]*Attr

	sdir, ddir *Attr
	src, dst   *Attr // dst nil when the target name is free
}

func (r *renameOp) attr(ino Ino) (*Attr, error) {
	if a, ok := r.attrs[ino]; ok {
		return a, nil
	}
	a, err := r.t.attr(ino)
	if err == nil {
		r.attrs[ino] = a
	}
	return a, err
}

func (r *renameOp) run(srcDir Ino, srcName string, dstDir Ino, dstName string) error {
	if err := r.load(srcDir, srcName, dstDir, dstName); err != nil {
		return err
	}
	if r.dst != nil && r.dst.Ino == r.src.Ino {
		if r.flags&RenameNoReplace != 0 {
			return errnof(syscall.EEXIST, "rename target %q exists", dstName)
		}
		return nil // both names already refer to the same inode
	}
	if err := r.check(); err != nil {
		return err
	}
	t := r.t
	if r.flags&RenameExchange != 0 {
		t.putDentry(dstDir, dstName, &Dentry{Ino: r.src.Ino, Type: r.src.Type()})
		t.putDentry(srcDir, srcName, &Dentry{Ino: r.dst.Ino, Type: r.dst.Type()})
		r.move(r.dst, r.ddir, r.sdir)
	} else {
		if r.dst != nil {
			if err := r.replaceTarget(); err != nil {
				return err
			}
		}
		t.deleteDentry(srcDir, srcName)
		t.putDentry(dstDir, dstName, &Dentry{Ino: r.src.Ino, Type: r.src.Type()})
		if isPolicyFile(srcName, r.src) {
			t.dropPolicy(srcDir) // the client sets dstDir's from the file, if it is named so there
		}
	}
	r.move(r.src, r.sdir, r.ddir)
	for _, d := range []*Attr{r.sdir, r.ddir} {
		d.Mtime, d.Ctime = t.now, t.now
	}
	for _, a := range r.attrs {
		t.putAttr(a)
	}
	return nil
}

func (r *renameOp) load(srcDir Ino, srcName string, dstDir Ino, dstName string) error {
	sdir, sd, err := r.t.dirAndDentry(srcDir, srcName)
	if err != nil {
		return err
	}
	ddir, dd, err := r.t.dirAndDentry(dstDir, dstName)
	if err != nil {
		return err
	}
	if sd == nil {
		return errnof(syscall.ENOENT, "rename source %q in %d", srcName, srcDir)
	}
	r.attrs[srcDir] = sdir
	if r.ddir = ddir; dstDir == srcDir {
		r.ddir = sdir
	}
	r.attrs[dstDir] = r.ddir
	r.sdir = sdir
	if r.src, err = r.attr(sd.Ino); err != nil {
		return err
	}
	if dd != nil {
		if r.dst, err = r.attr(dd.Ino); err != nil {
			return err
		}
	}
	return nil
}

// check applies every rule that can refuse the rename.
func (r *renameOp) check() error {
	t, c := r.t, r.c
	if r.flags&RenameExchange != 0 && r.dst == nil {
		return errnof(syscall.ENOENT, "rename exchange: no target")
	}
	if r.ddir.Nlink == 0 {
		return errnof(syscall.ENOENT, "rename into removed directory %d", r.ddir.Ino)
	}
	if err := t.mayDelete(r.sdir, r.src, c); err != nil {
		return err
	}
	if err := t.mayChangeDir(r.ddir, c); err != nil {
		return err
	}
	if r.dst != nil {
		if err := t.mayDelete(r.ddir, r.dst, c); err != nil {
			return err
		}
	}
	moving := r.sdir.Ino != r.ddir.Ino
	if err := r.checkMovable(r.src, moving, r.ddir.Ino); err != nil {
		return err
	}
	switch {
	case r.flags&RenameExchange != 0:
		return r.checkMovable(r.dst, moving, r.sdir.Ino)
	case r.dst == nil:
		return nil
	case r.flags&RenameNoReplace != 0:
		return errnof(syscall.EEXIST, "rename target inode %d", r.dst.Ino)
	case r.src.IsDir() && !r.dst.IsDir():
		return errnof(syscall.ENOTDIR, "rename directory over non-directory %d", r.dst.Ino)
	case !r.src.IsDir() && r.dst.IsDir():
		return errnof(syscall.EISDIR, "rename non-directory over directory %d", r.dst.Ino)
	case r.dst.IsDir():
		return t.mustBeEmpty(r.dst)
	}
	return nil
}

// checkMovable checks that directory a may move under newParent: its ".."
// changes, which needs write permission on it, and newParent must not be
// a itself or lie inside it.
func (r *renameOp) checkMovable(a *Attr, moving bool, newParent Ino) error {
	if !a.IsDir() || !moving {
		return nil
	}
	if err := r.t.access(a, r.c, MayWrite); err != nil {
		return err
	}
	for ino := newParent; ; {
		if ino == a.Ino {
			return errnof(syscall.EINVAL, "rename directory %d into its own subtree", a.Ino)
		}
		if ino == RootIno {
			return nil
		}
		p, err := r.attr(ino)
		if err != nil {
			return err
		}
		ino = p.Parent
	}
}

// replaceTarget unlinks the inode the target name referred to.
// A target whose last link goes is purged (or kept as an orphan) by the
// helpers here, and leaves attrs so the final write-back skips it.
func (r *renameOp) replaceTarget() error {
	var err error
	if r.dst.IsDir() {
		r.ddir.Nlink--
		err = r.t.dropDir(r.dst)
	} else {
		err = r.t.dropLink(r.dst)
	}
	if r.dst.Nlink == 0 {
		delete(r.attrs, r.dst.Ino)
	}
	return err
}

// move records that a now lives in to (it was in from): its parent
// pointer, ctime and, for directories, the parents' link counts.
func (r *renameOp) move(a, from, to *Attr) {
	a.Ctime = r.t.now
	a.Parent = to.Ino
	if from.Ino != to.Ino {
		r.t.queueReview(a.Ino) // it may be under another policy now
	}
	if a.IsDir() && from.Ino != to.Ino {
		from.Nlink--
		to.Nlink++
		r.t.onCommit(r.t.s.policies.invalidate)
	}
}
