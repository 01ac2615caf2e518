package metaservice

import (
	"context"
	"syscall"
)

// SetAttr valid bits: which fields of SetAttrIn to apply.
const (
	SetMode = 1 << iota
	SetUid
	SetGid
	SetSize
	SetAtime
	SetMtime
	SetAtimeNow
	SetMtimeNow
	SetCtime
	// SetFromHandle says the change comes through an open file (ftruncate,
	// futimens), whose open already checked write permission.
	SetFromHandle
	// SetKillPriv drops setuid, and setgid when group-executable, as the
	// kernel asks when an unprivileged process writes or truncates a
	// file (FUSE's KILLPRIV_V2 contract).
	SetKillPriv

	setAttrAll = SetKillPriv<<1 - 1
)

// SetAttrIn is a setattr request.
type SetAttrIn struct {
	Valid uint32
	Mode  uint32 // permission bits (07777)
	Uid   uint32
	Gid   uint32
	Size  uint64
	Atime int64
	Mtime int64
	Ctime int64
	// TailBlocks, with TailKnown, is how many data blocks the chunk the
	// new size falls in holds once its dataserver cut it there (the client
	// cuts it first); without it the count is bounded from the new size.
	TailBlocks uint32
	TailKnown  bool
}

// SetAttr changes an inode's mode, owner, size or times under the rules of
// chmod(2), chown(2), truncate(2) and utimensat(2). Truncation releases
// the chunks wholly past the new size to the deletion queue; the caller
// truncates the chunk the new end falls in on its dataserver.
func (s *Service) SetAttr(ctx context.Context, c *Cred, ino Ino, in SetAttrIn) (*Attr, error) {
	hold := s.holder(ctx)
	var out *Attr
	err := s.update(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if err != nil {
			return err
		}
		if in.Valid&^setAttrAll != 0 {
			return errnof(syscall.EINVAL, "setattr bits %#x", in.Valid&^setAttrAll)
		}
		for _, step := range []func(*tx, *Cred, *Attr, *SetAttrIn) error{setOwner, setMode, setSize, setTimes, setKillPriv} {
			if err := step(t, c, a, &in); err != nil {
				return err
			}
		}
		a.Ctime = t.now
		if in.Valid&SetCtime != 0 {
			a.Ctime = in.Ctime
		}
		t.putAttr(a)
		out = a
		return nil
	})
	if err == nil {
		hold([]Ino{out.Ino})
	}
	return out, err
}

func setOwner(t *tx, c *Cred, a *Attr, in *SetAttrIn) error {
	uid, gid := a.Uid, a.Gid
	if in.Valid&SetUid != 0 {
		uid = in.Uid
	}
	if in.Valid&SetGid != 0 {
		gid = in.Gid
	}
	if in.Valid&(SetUid|SetGid) == 0 {
		return nil
	}
	// chown_ok and chgrp_ok of Linux: the owner may "change" the uid to
	// itself and the gid to a group it is in; root may do anything.
	if c.Uid != 0 {
		if in.Valid&SetUid != 0 && (c.Uid != a.Uid || uid != a.Uid) {
			return errnof(syscall.EPERM, "chown inode %d to uid %d: uid %d may not", a.Ino, uid, c.Uid)
		}
		if in.Valid&SetGid != 0 && (c.Uid != a.Uid || gid != a.Gid && !c.inGroup(gid)) {
			return errnof(syscall.EPERM, "chgrp inode %d to gid %d: uid %d may not", a.Ino, gid, c.Uid)
		}
	}
	if !a.IsDir() {
		// As Linux: a chown of a non-directory drops setuid, and setgid
		// when it means "set group id" (group execute is on).
		killSuid(a)
	}
	a.Uid, a.Gid = uid, gid
	t.dropCaps(a)
	return nil
}

// killSuid drops setuid, and setgid when group execute is on (without it
// setgid means mandatory locking, which a write does not change).
func killSuid(a *Attr) {
	a.Mode &^= syscall.S_ISUID
	if a.Mode&syscall.S_IXGRP != 0 {
		a.Mode &^= syscall.S_ISGID
	}
}

// dropCaps removes a file's capabilities, as any change of its content or
// owner must.
func (t *tx) dropCaps(a *Attr) {
	if a.HasCaps {
		t.mustDelete(xattrKey(a.Ino, xattrCaps))
		a.HasCaps = false
	}
}

func setKillPriv(t *tx, c *Cred, a *Attr, in *SetAttrIn) error {
	if in.Valid&SetKillPriv != 0 && !a.IsDir() {
		killSuid(a)
		t.dropCaps(a)
	}
	return nil
}

func setMode(t *tx, c *Cred, a *Attr, in *SetAttrIn) error {
	if in.Valid&SetMode == 0 {
		return nil
	}
	if !isOwner(a, c) {
		return errnof(syscall.EPERM, "chmod inode %d: uid %d is not the owner", a.Ino, c.Uid)
	}
	mode := in.Mode & 07777
	if c.Uid != 0 && !c.inGroup(a.Gid) {
		mode &^= syscall.S_ISGID
	}
	a.Mode = a.Type() | mode
	if !a.HasACL {
		return nil
	}
	access, err := t.accessACL(a)
	if err != nil || access == nil {
		return err
	}
	access.applyMode(mode)
	t.mustSet(xattrKey(a.Ino, xattrACLAccess), access.encode())
	return nil
}

func setSize(t *tx, c *Cred, a *Attr, in *SetAttrIn) error {
	if in.Valid&SetSize == 0 {
		return nil
	}
	switch a.Type() {
	case syscall.S_IFDIR:
		return errnof(syscall.EISDIR, "truncate directory %d", a.Ino)
	case syscall.S_IFREG:
	default:
		return errnof(syscall.EINVAL, "truncate inode %d of type %o", a.Ino, a.Type())
	}
	if err := checkFileSize(in.Size); err != nil {
		return err
	}
	if in.Valid&SetFromHandle == 0 {
		if err := t.access(a, c, MayWrite); err != nil {
			return err
		}
	}
	before := a.Allocated()
	if in.Size < a.Size {
		released, err := t.releaseChunks(a.Ino, chunkCount(in.Size))
		if err != nil {
			return err
		}
		cut, err := t.cutChunkBlocks(a.Ino, in.Size, in.TailBlocks, in.TailKnown)
		if err != nil {
			return err
		}
		a.DataBlocks -= min(a.DataBlocks, released+cut)
	}
	if in.Size != a.Size || in.Valid&SetFromHandle == 0 {
		a.Mtime = t.now
	}
	a.Size = in.Size
	t.usageDelta(a.Ino.Shard(), 0, int64(a.Allocated())-int64(before))
	a.Gen++
	t.dropCaps(a)
	return nil
}

func setTimes(t *tx, c *Cred, a *Attr, in *SetAttrIn) error {
	v := in.Valid
	if v&(SetAtime|SetMtime|SetAtimeNow|SetMtimeNow) == 0 {
		return nil
	}
	explicit := v&SetAtime != 0 && v&SetAtimeNow == 0 || v&SetMtime != 0 && v&SetMtimeNow == 0
	if !isOwner(a, c) {
		if explicit {
			return errnof(syscall.EPERM, "set times of inode %d: uid %d is not the owner", a.Ino, c.Uid)
		}
		if err := t.access(a, c, MayWrite); err != nil {
			return err
		}
	}
	switch {
	case v&SetAtimeNow != 0:
		a.Atime = t.now
	case v&SetAtime != 0:
		a.Atime = in.Atime
	}
	switch {
	case v&SetMtimeNow != 0:
		a.Mtime = t.now
	case v&SetMtime != 0:
		a.Mtime = in.Mtime
	}
	return nil
}
