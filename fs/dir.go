package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// OpenDir implements fuse.RawFileSystem. The open is registered with the
// metaservice, so a directory removed while open stays valid through its
// descriptors, as POSIX asks. Directory handles carry no other state: the
// kernel's offset is the metaservice's stable cookie, so a listing resumes
// correctly whatever changed in between.
func (f *FS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	_, err := f.meta.Open(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), syscall.O_RDONLY, f.session.Load())
	return status("opendir", err)
}

// ReadDir implements fuse.RawFileSystem.
func (f *FS) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, false)
}

// ReadDirPlus implements fuse.RawFileSystem: entries with attributes, read
// in one batch by the metaservice.
func (f *FS) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, true)
}

// dirEntrySize is a lower bound on the space one entry takes in the
// kernel's buffer; it bounds how many entries are worth fetching.
const dirEntrySize = 32

func (f *FS) readDir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	limit := max(int(in.Size)/dirEntrySize, 16)
	if plus {
		limit = max(int(in.Size)/(dirEntrySize+128), 8)
	}
	ents, err := f.meta.ReadDir(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), in.Offset, limit, plus)
	if err != nil {
		return status("readdir", err)
	}
	for _, e := range ents {
		de := fuse.DirEntry{Name: e.Name, Ino: uint64(e.Ino), Mode: e.Type, Off: e.Cookie}
		if !plus {
			if !out.AddDirEntry(de) {
				break
			}
			continue
		}
		eo := out.AddDirLookupEntry(de)
		if eo == nil {
			break
		}
		// The kernel takes no reference for "." and ".."; an entry whose
		// inode vanished meanwhile is listed without attributes.
		if e.Attr != nil && e.Name != "." && e.Name != ".." {
			f.policies.saw(ms.Ino(in.NodeId), e.Name, e.Attr)
			f.fillEntry(f.files.overlay(e.Attr), eo)
		}
	}
	return fuse.OK
}

// ReleaseDir implements fuse.RawFileSystem: the last close of a removed
// directory frees it.
func (f *FS) ReleaseDir(in *fuse.ReleaseIn) {
	status("releasedir", f.meta.Release(f.op(), ms.Ino(in.NodeId), f.session.Load()))
}

// FsyncDir implements fuse.RawFileSystem: namespace changes are KV
// commits, so syncing a directory makes the metadata durable.
func (f *FS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return status("fsyncdir", f.meta.Sync(f.op()))
}
