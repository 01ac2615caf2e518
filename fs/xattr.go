package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// GetXAttr implements fuse.RawFileSystem. A zero-sized dest asks for the
// size only; a value larger than dest is ERANGE.
func (f *FS) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, name string, dest []byte) (uint32, fuse.Status) {
	if f.knownAbsentXattr(ms.Ino(h.NodeId), name) {
		return 0, fuse.ENODATA
	}
	v, err := f.meta.GetXattr(f.op(), f.cred(h), ms.Ino(h.NodeId), name)
	if err != nil {
		return 0, status("getxattr", err)
	}
	return copyOut(v, dest)
}

// ListXAttr implements fuse.RawFileSystem.
func (f *FS) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	names, err := f.meta.ListXattr(f.op(), f.cred(h), ms.Ino(h.NodeId))
	if err != nil {
		return 0, status("listxattr", err)
	}
	var buf []byte
	for _, n := range names {
		buf = append(append(buf, n...), 0)
	}
	return copyOut(buf, dest)
}

func copyOut(v, dest []byte) (uint32, fuse.Status) {
	if len(dest) == 0 {
		return uint32(len(v)), fuse.OK
	}
	if len(v) > len(dest) {
		return uint32(len(v)), fuse.Status(syscall.ERANGE)
	}
	return uint32(copy(dest, v)), fuse.OK
}

// SetXAttr implements fuse.RawFileSystem.
func (f *FS) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, name string, data []byte) fuse.Status {
	err := f.meta.SetXattr(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), name, data, in.Flags)
	return status("setxattr", err)
}

// RemoveXAttr implements fuse.RawFileSystem.
func (f *FS) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return status("removexattr", f.meta.RemoveXattr(f.op(), f.cred(h), ms.Ino(h.NodeId), name))
}

// knownAbsentXattr answers, from cached attributes, the questions the
// kernel asks around creates and writes: an inode's attributes say
// whether it has an access or default ACL or capabilities, which anyone
// may read.
func (f *FS) knownAbsentXattr(ino ms.Ino, name string) bool {
	a := f.coh.cachedAttr(ino)
	if a == nil {
		return false
	}
	switch name {
	case "system.posix_acl_access":
		return !a.HasACL
	case "system.posix_acl_default":
		return !a.HasDefaultACL
	case "security.capability":
		return !a.HasCaps
	}
	return false
}
