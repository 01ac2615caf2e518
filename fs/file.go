package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// Create implements fuse.RawFileSystem: the inode, its dentry, this
// session's open of it and a new file's first chunk, leased to the local
// dataserver, are one metaservice transaction.
func (f *FS) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	n := ms.NewNode{Mode: in.Mode, Umask: in.Umask, Exclusive: in.Flags&syscall.O_EXCL != 0}
	parent := ms.Ino(in.NodeId)
	call := f.coh.begin(f.op(), f.session.Load())
	ds := ""
	if f.createHint.chunkAtCreate() {
		ds = f.data.ID()
	}
	cf, err := f.meta.CreateFile(call.ctx, f.cred(&in.InHeader), parent, name, n, f.session.Load(), ds, f.opts.LeaseDuration)
	var a *ms.Attr
	if err == nil {
		a = cf.Attr
	}
	long := f.coh.end(call, answered(a, err), parent)
	if err != nil {
		return status("create", err)
	}
	f.cacheMade(parent, name, a, long)
	f.policies.saw(parent, name, a)
	of, rep, _ := f.files.open(a)
	if cf.Chunk != nil {
		of.knowChunk(0, cf.Chunk)
	}
	of.mu.Lock()
	of.created = a.Size == 0 // made here, or truncated: a file to be written or not
	of.mu.Unlock()
	f.openedPolicyFile(of, in.Flags)
	f.fillEntry(rep, &out.EntryOut, long && f.coh.longEntry(parent, name))
	out.OpenOut.OpenFlags = openFlags(in.Flags, false)
	return fuse.OK
}

// Open implements fuse.RawFileSystem. The attributes come fresh from the
// metaservice: this is where close-to-open consistency is made.
func (f *FS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	a, err := f.meta.Open(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), in.Flags, f.session.Load())
	if err != nil {
		return status("open", err)
	}
	of, _, keep := f.files.open(a)
	f.openedPolicyFile(of, in.Flags)
	out.OpenFlags = openFlags(in.Flags, keep)
	if in.Mode&fuse.OPEN_KILL_SUIDGID != 0 {
		return f.killPriv(&in.InHeader)
	}
	return fuse.OK
}

// killPriv drops setuid/setgid (and capabilities), as the kernel asks
// when an unprivileged process writes or truncates such a file.
func (f *FS) killPriv(h *fuse.InHeader) fuse.Status {
	_, err := f.meta.SetAttr(f.op(), f.cred(h), ms.Ino(h.NodeId), ms.SetAttrIn{Valid: ms.SetKillPriv | ms.SetFromHandle})
	return status("killpriv", err)
}

func openFlags(flags uint32, keepCache bool) uint32 {
	var out uint32
	if keepCache {
		out |= fuse.FOPEN_KEEP_CACHE
	}
	if flags&syscall.O_DIRECT != 0 {
		out |= fuse.FOPEN_DIRECT_IO
	}
	return out
}

// Read implements fuse.RawFileSystem.
func (f *FS) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	of := f.files.get(ms.Ino(in.NodeId))
	if of == nil {
		return nil, fuse.EBADF
	}
	of.mu.Lock()
	size := of.size
	of.mu.Unlock()
	if in.Offset >= size {
		return fuse.ReadResultData(nil), fuse.OK
	}
	n := min(uint64(len(buf)), uint64(in.Size), size-in.Offset)
	ctx, stop := f.opCancel(cancel) // a read from a far or stalled copy ends with its caller
	defer stop()
	if err := f.readAt(ctx, of, in.Offset, buf[:n]); err != nil {
		return nil, status("read", err)
	}
	return fuse.ReadResultData(buf[:n]), fuse.OK
}

// Write implements fuse.RawFileSystem: it returns when the local
// dataserver acknowledged the data. O_SYNC and O_DSYNC writes are durable
// (data and, when the file grew, its size) before it returns.
func (f *FS) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	of := f.files.get(ms.Ino(in.NodeId))
	if of == nil {
		return 0, fuse.EBADF
	}
	if in.WriteFlags&fuse.WRITE_KILL_SUIDGID != 0 {
		if st := f.killPriv(&in.InHeader); !st.Ok() {
			return 0, st
		}
	}
	sync := in.Flags&(syscall.O_SYNC|syscall.O_DSYNC) != 0
	ctx, stop := f.opCancel(cancel) // a lease or copies waited for end with the caller (EINTR)
	defer stop()
	if err := f.writeAt(ctx, of, in.Offset, data, sync); err != nil {
		return 0, status("write", err)
	}
	if sync {
		if err := f.files.commit(f.op(), of, true); err != nil {
			return 0, status("write", err)
		}
		if err := f.awaitCopies(ctx, of); err != nil {
			return 0, status("write", err)
		}
	}
	return uint32(len(data)), fuse.OK
}

// Flush implements fuse.RawFileSystem: close(2) of a descriptor. The
// writes become visible to other clients, and the closing process's POSIX
// locks on the file go, as POSIX asks.
func (f *FS) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	ino := ms.Ino(in.NodeId)
	of := f.files.get(ino)
	if of == nil {
		return fuse.OK
	}
	if err := f.files.commit(f.op(), of, false); err != nil {
		return status("flush", err)
	}
	// Not cut short by an interrupt: close(2) may not fail with EINTR
	// (the descriptor's state is then unknown, and Go does not retry it),
	// and Go programs are interrupted all the time (SIGURG preemption).
	if err := f.closeAck(f.op(), of); err != nil {
		return status("flush", err)
	}
	if err := f.applyPolicyFile(f.op(), f.cred(&in.InHeader), of); err != nil {
		return status("flush", err)
	}
	of.mu.Lock()
	locked := of.posixLocked
	of.mu.Unlock()
	if !locked {
		return fuse.OK
	}
	h := ms.LockOwner{Session: f.session.Load(), Owner: in.LockOwner}
	return status("flush", f.meta.SetLk(f.op(), ino, ms.PosixLock{Holder: h, Type: ms.Unlock, End: ms.MaxOffset}, false))
}

// Fsync implements fuse.RawFileSystem: the dataserver's journal is synced,
// the file's metadata is committed (durably when its size changed), and
// the copies the policy's write_ack asks for are waited for (writeack.go).
func (f *FS) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	of := f.files.get(ms.Ino(in.NodeId))
	if of == nil {
		return status("fsync", f.meta.Sync(f.op()))
	}
	if err := f.data.Sync(f.op(), 0); err != nil {
		return status("fsync", err)
	}
	if err := f.files.commit(f.op(), of, true); err != nil {
		return status("fsync", err)
	}
	ctx, stop := f.opCancel(cancel)
	defer stop()
	if err := f.awaitCopies(ctx, of); err != nil {
		return status("fsync", err)
	}
	return status("fsync", f.applyPolicyFile(f.op(), f.cred(&in.InHeader), of))
}

// Release implements fuse.RawFileSystem: the last close of a descriptor.
func (f *FS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	ino := ms.Ino(in.NodeId)
	ctx := f.op()
	if of := f.files.get(ino); of != nil {
		if err := f.files.commit(ctx, of, false); err != nil {
			status("release", err)
		}
		f.files.release(of)
	}
	if in.ReleaseFlags&fuse.FUSE_RELEASE_FLOCK_UNLOCK != 0 {
		h := ms.LockOwner{Session: f.session.Load(), Owner: in.LockOwner}
		status("release", f.meta.Flock(ctx, ino, h, ms.Unlock, false))
	}
	f.releases.add(ino)
}

// Fallocate implements fuse.RawFileSystem: mode 0 (posix_fallocate) and
// KEEP_SIZE preallocate by extending the size (chunks are sparse; space
// is taken as data arrives); PUNCH_HOLE|KEEP_SIZE writes zeros over the
// range within the file.
func (f *FS) Fallocate(cancel <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	const keepSize, punchHole = 0x1, 0x2
	ino := ms.Ino(in.NodeId)
	of := f.files.get(ino)
	if of == nil {
		return fuse.EBADF
	}
	end := in.Offset + in.Length
	switch in.Mode {
	case 0:
		of.mu.Lock()
		grow := end > of.size
		of.mu.Unlock()
		if grow {
			return f.growTo(of, end)
		}
		return fuse.OK
	case keepSize:
		return fuse.OK
	case punchHole | keepSize:
		of.mu.Lock()
		end = min(end, of.size)
		of.mu.Unlock()
		zeros := make([]byte, min(end-min(in.Offset, end), MaxWrite))
		for off := in.Offset; off < end; off += uint64(len(zeros)) {
			n := min(uint64(len(zeros)), end-off)
			if err := f.writeAt(f.op(), of, off, zeros[:n], false); err != nil {
				return status("fallocate", err)
			}
		}
		return fuse.OK
	}
	return fuse.ENOTSUP
}

func (f *FS) growTo(of *openFile, size uint64) fuse.Status {
	if err := f.files.commit(f.op(), of, false); err != nil {
		return status("fallocate", err)
	}
	a, err := f.meta.SetAttr(f.op(), ms.Root, of.ino, ms.SetAttrIn{Valid: ms.SetSize | ms.SetFromHandle, Size: size})
	if err != nil {
		return status("fallocate", err)
	}
	f.files.truncated(a)
	return fuse.OK
}
