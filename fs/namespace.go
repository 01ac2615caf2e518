package fs

import (
	"context"
	"math"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// Lookup implements fuse.RawFileSystem. A missing name is cached by the
// kernel for NegativeTimeout (an entry with node id 0).
func (f *FS) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	parent := ms.Ino(h.NodeId)
	if err := ms.CheckName(name); err != nil {
		return status("lookup", err)
	}
	a, known := f.coh.cachedLookup(parent, name)
	if a != nil && f.files.get(a.Ino) != nil {
		known = false // open here: its size is in flux, ask (attrview.go)
	}
	long := known
	var err error
	if !known {
		call := f.coh.begin(f.op(), f.session.Load())
		a, err = f.meta.Lookup(call.ctx, f.cred(h), parent, name)
		long = f.coh.end(call, answered(a, err), parent)
		f.coh.cacheAttr(a, long && err == nil)
		if err == nil || errorsIsENOENT(err) {
			f.coh.cacheName(parent, name, inoOf(a, err), long, true)
		}
	} else if a == nil {
		err = syscall.ENOENT
	}
	return f.lookupAnswer(parent, name, a, err, long, out)
}

// lookupAnswer answers a lookup with a, or with err; long says the
// answer is held.
func (f *FS) lookupAnswer(parent ms.Ino, name string, a *ms.Attr, err error, long bool, out *fuse.EntryOut) fuse.Status {
	if errorsIsENOENT(err) && f.opts.NegativeTimeout > 0 {
		out.NodeId = 0
		out.SetEntryTimeout(f.timeout(f.opts.NegativeTimeout, long && f.coh.longEntry(parent, name)))
		return fuse.OK
	}
	if err != nil {
		return status("lookup", err)
	}
	f.policies.saw(parent, name, a)
	f.fillEntry(f.files.overlay(a), out, long && f.coh.longEntry(parent, name))
	return fuse.OK
}

// inoOf is the inode an answer names: 0 for none.
func inoOf(a *ms.Attr, err error) ms.Ino {
	if err != nil || a == nil {
		return 0
	}
	return a.Ino
}

// answered is what a holding call answered with: the inode, unless it
// failed.
func answered(a *ms.Attr, err error) []ms.Ino {
	if err != nil || a == nil {
		return nil
	}
	return []ms.Ino{a.Ino}
}

// Forget implements fuse.RawFileSystem: the kernel dropped nlookup
// references to the inode; once it holds none, the client's notes for the
// kernel's caches of it go (inode numbers are stable: nothing else to do).
func (f *FS) Forget(nodeid, nlookup uint64) {
	if f.files.forget(ms.Ino(nodeid), nlookup) {
		f.coh.forgot(ms.Ino(nodeid))
	}
}

// GetAttr implements fuse.RawFileSystem.
func (f *FS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	// A file open here has its size in flux: the metaservice's answer,
	// merged with this client's writes, is the one to give.
	if a := f.coh.cachedAttr(ms.Ino(in.NodeId)); a != nil && f.files.get(a.Ino) == nil {
		f.fillAttrOut(f.files.overlay(a), out, true)
		return fuse.OK
	}
	call := f.coh.begin(f.op(), f.session.Load())
	a, err := f.meta.GetAttr(call.ctx, ms.Ino(in.NodeId))
	long := f.coh.end(call, answered(a, err))
	if err != nil {
		return status("getattr", err)
	}
	f.coh.cacheAttr(a, long)
	f.fillAttrOut(f.files.overlay(a), out, long)
	return fuse.OK
}

// SetAttr implements fuse.RawFileSystem. A size change commits pending
// writes first and trims the chunk the new end falls in.
func (f *FS) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	ino := ms.Ino(in.NodeId)
	req := setAttrIn(in)
	if req.Valid&ms.SetSize != 0 {
		if err := f.files.truncate(f.op(), ino, in.Size, &req); err != nil {
			return status("truncate", err)
		}
	}
	call := f.coh.begin(f.op(), f.session.Load())
	a, err := f.meta.SetAttr(call.ctx, f.cred(&in.InHeader), ino, req)
	long := f.coh.end(call, answered(a, err))
	if err != nil {
		return status("setattr", err)
	}
	f.coh.cacheAttr(a, long)
	if req.Valid&ms.SetSize != 0 {
		f.files.truncated(a)
	}
	f.fillAttrOut(f.files.overlay(a), out, long)
	return fuse.OK
}

func setAttrIn(in *fuse.SetAttrIn) ms.SetAttrIn {
	var r ms.SetAttrIn
	v := in.Valid
	set := func(bit uint32, flag uint32) {
		if v&bit != 0 {
			r.Valid |= flag
		}
	}
	set(fuse.FATTR_MODE, ms.SetMode)
	set(fuse.FATTR_UID, ms.SetUid)
	set(fuse.FATTR_GID, ms.SetGid)
	set(fuse.FATTR_SIZE, ms.SetSize)
	set(fuse.FATTR_ATIME, ms.SetAtime)
	set(fuse.FATTR_MTIME, ms.SetMtime)
	set(fuse.FATTR_ATIME_NOW, ms.SetAtimeNow)
	set(fuse.FATTR_MTIME_NOW, ms.SetMtimeNow)
	set(fuse.FATTR_CTIME, ms.SetCtime)
	set(fuse.FATTR_FH, ms.SetFromHandle)
	set(fuse.FATTR_KILL_SUIDGID, ms.SetKillPriv)
	r.Mode = in.Mode & 07777
	r.Uid, r.Gid, r.Size = in.Uid, in.Gid, in.Size
	r.Atime = unixNanos(in.Atime, in.Atimensec)
	r.Mtime = unixNanos(in.Mtime, in.Mtimensec)
	r.Ctime = unixNanos(in.Ctime, in.Ctimensec)
	return r
}

// unixNanos converts the kernel's seconds (two's complement in a u64) and
// nanoseconds to the metaservice's int64 nanoseconds, clamping times
// outside 1677..2262, which int64 nanoseconds cannot hold, instead of
// wrapping them.
func unixNanos(sec uint64, nsec uint32) int64 {
	const limit = math.MaxInt64 / int64(1e9)
	switch s := int64(sec); {
	case s >= limit:
		return math.MaxInt64
	case s <= -limit:
		return math.MinInt64
	default:
		return s*1e9 + int64(nsec)
	}
}

// Mknod implements fuse.RawFileSystem.
func (f *FS) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	return f.entry("mknod", ms.Ino(in.NodeId), name, out, func(ctx context.Context) (*ms.Attr, error) {
		return f.meta.Mknod(ctx, f.cred(&in.InHeader), ms.Ino(in.NodeId), name,
			ms.NewNode{Mode: in.Mode, Umask: in.Umask, Rdev: in.Rdev})
	})
}

// Mkdir implements fuse.RawFileSystem.
func (f *FS) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	return f.entry("mkdir", ms.Ino(in.NodeId), name, out, func(ctx context.Context) (*ms.Attr, error) {
		return f.meta.Mkdir(ctx, f.cred(&in.InHeader), ms.Ino(in.NodeId), name,
			ms.NewNode{Mode: in.Mode, Umask: in.Umask})
	})
}

// Symlink implements fuse.RawFileSystem.
func (f *FS) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	return f.entry("symlink", ms.Ino(h.NodeId), name, out, func(ctx context.Context) (*ms.Attr, error) {
		return f.meta.Symlink(ctx, f.cred(h), ms.Ino(h.NodeId), name, target)
	})
}

// Link implements fuse.RawFileSystem.
func (f *FS) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	return f.entry("link", ms.Ino(in.NodeId), name, out, func(ctx context.Context) (*ms.Attr, error) {
		return f.meta.Link(ctx, f.cred(&in.InHeader), ms.Ino(in.Oldnodeid), ms.Ino(in.NodeId), name)
	})
}

// entry makes name in parent with the holding call mk and answers with
// the new entry.
func (f *FS) entry(op string, parent ms.Ino, name string, out *fuse.EntryOut, mk func(context.Context) (*ms.Attr, error)) fuse.Status {
	call := f.coh.begin(f.op(), f.session.Load())
	a, err := mk(call.ctx)
	long := f.coh.end(call, answered(a, err), parent)
	if err != nil {
		return status(op, err)
	}
	f.cacheMade(parent, name, a, long)
	f.fillEntry(a, out, long && f.coh.longEntry(parent, name))
	return fuse.OK
}

// cacheMade caches what a create-like call made: the inode, its name, and
// for a directory that it is empty.
func (f *FS) cacheMade(parent ms.Ino, name string, a *ms.Attr, long bool) {
	f.coh.cacheAttr(a, long)
	f.coh.cacheName(parent, name, a.Ino, long, true)
	if a.IsDir() {
		f.coh.cacheNewDir(a.Ino, long)
	}
}

// Readlink implements fuse.RawFileSystem.
func (f *FS) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	t, err := f.meta.ReadLink(f.op(), ms.Ino(h.NodeId))
	if err != nil {
		return nil, status("readlink", err)
	}
	return []byte(t), fuse.OK
}

// Unlink implements fuse.RawFileSystem. Unlinking a policy file removes
// its directory's policy (in the metaservice's transaction).
func (f *FS) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	ctx, mark := f.opMarked()
	err := f.meta.Unlink(ctx, f.cred(h), ms.Ino(h.NodeId), name)
	if err == nil {
		f.coh.settle(ms.Ino(h.NodeId), name, 0, mark)
	}
	if err == nil && name == ms.PolicyFileName {
		f.policyFileGone(ms.Ino(h.NodeId))
	}
	return status("unlink", err)
}

// Rmdir implements fuse.RawFileSystem.
func (f *FS) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	ctx, mark := f.opMarked()
	err := f.meta.Rmdir(ctx, f.cred(h), ms.Ino(h.NodeId), name)
	if err == nil {
		f.coh.settle(ms.Ino(h.NodeId), name, 0, mark)
	}
	return status("rmdir", err)
}

// Rename implements fuse.RawFileSystem (rename and renameat2 flags). A
// file renamed to a policy file name becomes its directory's policy, and
// is refused (EINVAL) if it does not parse; one renamed away takes its
// directory's policy with it.
func (f *FS) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	ctx, mark := f.opMarked()
	c := f.cred(&in.InHeader)
	src, dst := ms.Ino(in.NodeId), ms.Ino(in.Newdir)
	var policySrc []byte
	var moved *ms.Attr
	if newName == ms.PolicyFileName && in.Flags&ms.RenameExchange == 0 {
		var err error
		if policySrc, moved, err = f.policyOfRenamed(ctx, src, oldName); err != nil {
			return status("rename", err)
		}
	}
	if err := f.meta.Rename(ctx, c, src, oldName, dst, newName, in.Flags); err != nil {
		return status("rename", err)
	}
	if in.Flags&ms.RenameExchange == 0 {
		f.coh.settle(src, oldName, 0, mark) // the new name is left to a lookup
	}
	if oldName == ms.PolicyFileName {
		f.policyFileGone(src)
	}
	if policySrc == nil {
		return fuse.OK
	}
	f.policyFileGone(dst)
	f.policies.saw(dst, newName, moved)
	return status("rename", f.meta.SetPolicy(ctx, c, dst, policySrc))
}

// Access implements fuse.RawFileSystem.
func (f *FS) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	return status("access", f.meta.Access(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), in.Mask&7))
}

// StatFs implements fuse.RawFileSystem.
func (f *FS) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	st, err := f.meta.StatFS(f.op())
	if err != nil {
		return status("statfs", err)
	}
	const bsize = 4096
	out.Bsize, out.Frsize = bsize, bsize
	out.Blocks = st.Capacity / bsize
	used := (st.UsedBytes + bsize - 1) / bsize
	out.Bfree = out.Blocks - min(used, out.Blocks)
	if st.FreeBytes > 0 {
		out.Bfree = min(st.FreeBytes/bsize, out.Blocks)
	}
	out.Bavail = out.Bfree
	out.Files = st.MaxInodes
	out.Ffree = st.MaxInodes - min(st.UsedInodes, st.MaxInodes)
	out.NameLen = ms.MaxNameLen
	return fuse.OK
}

func errorsIsENOENT(err error) bool { return err != nil && isErrno(err, syscall.ENOENT) }
