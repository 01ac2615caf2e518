package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

func (f *FS) posixLock(in *fuse.LkIn) ms.PosixLock {
	return ms.PosixLock{Holder: ms.LockOwner{Session: f.session.Load(), Owner: in.Owner},
		Pid: in.Lk.Pid, Type: in.Lk.Typ, Start: in.Lk.Start, End: in.Lk.End}
}

// GetLk implements fuse.RawFileSystem (F_GETLK).
func (f *FS) GetLk(cancel <-chan struct{}, in *fuse.LkIn, out *fuse.LkOut) fuse.Status {
	l, err := f.meta.GetLk(f.op(), ms.Ino(in.NodeId), f.posixLock(in))
	if err != nil {
		return status("getlk", err)
	}
	out.Lk = fuse.FileLock{Start: l.Start, End: l.End, Typ: l.Type, Pid: l.Pid}
	if l.Holder.Session != f.session.Load() {
		// The holder is a process on another host: its pid means nothing
		// here, as with NFS.
		out.Lk.Pid = 0
	}
	return fuse.OK
}

// SetLk implements fuse.RawFileSystem (F_SETLK and flock without wait).
func (f *FS) SetLk(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	return f.setLk(cancel, in, false)
}

// SetLkw implements fuse.RawFileSystem (F_SETLKW and blocking flock): it
// waits until the lock is granted or the caller is interrupted.
func (f *FS) SetLkw(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	return f.setLk(cancel, in, true)
}

func (f *FS) setLk(cancel <-chan struct{}, in *fuse.LkIn, block bool) fuse.Status {
	ctx, stop := f.opCancel(cancel)
	defer stop()
	ino := ms.Ino(in.NodeId)
	var err error
	if in.LkFlags&fuse.FUSE_LK_FLOCK != 0 {
		err = f.meta.Flock(ctx, ino, ms.LockOwner{Session: f.session.Load(), Owner: in.Owner}, in.Lk.Typ, block)
	} else {
		if of := f.files.get(ino); of != nil && in.Lk.Typ != syscall.F_UNLCK {
			of.mu.Lock()
			of.posixLocked = true
			of.mu.Unlock()
		}
		err = f.meta.SetLk(ctx, ino, f.posixLock(in), block)
	}
	if !block && isErrno(err, syscall.EAGAIN) {
		return fuse.EAGAIN
	}
	return status("setlk", err)
}
