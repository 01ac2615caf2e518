package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// OpenDir implements fuse.RawFileSystem. The open is registered with the
// metaservice, so a directory removed while open stays valid through its
// descriptors, as POSIX asks. The kernel's offset is the metaservice's
// stable cookie, so a listing resumes correctly whatever changed in
// between; a handle keeps the entries it fetched ahead (dirstream.go).
func (f *FS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	_, err := f.meta.Open(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), syscall.O_RDONLY, f.session.Load())
	if err != nil {
		return status("opendir", err)
	}
	out.Fh = f.dirs.open()
	return fuse.OK
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
	fetch := func(limit int) ([]ms.DirEntry, error) {
		return f.meta.ReadDir(f.op(), f.cred(&in.InHeader), ms.Ino(in.NodeId), in.Offset, limit, plus)
	}
	var ents []ms.DirEntry
	var err error
	stream := f.dirs.get(in.Fh)
	if stream == nil || f.opts.AttrTimeout <= 0 {
		ents, err = fetch(limit)
	} else {
		ents, err = stream.entries(in.Offset, plus, f.opts.AttrTimeout, fetch)
	}
	if err != nil {
		return status("readdir", err)
	}
	n := f.addEntries(in, out, ents, plus)
	if stream != nil && f.opts.AttrTimeout > 0 {
		stream.used(n)
	}
	return fuse.OK
}

// addEntries passes ents to the kernel's buffer until it is full, and
// returns how many it took.
func (f *FS) addEntries(in *fuse.ReadIn, out *fuse.DirEntryList, ents []ms.DirEntry, plus bool) int {
	for i, e := range ents {
		de := fuse.DirEntry{Name: e.Name, Ino: uint64(e.Ino), Mode: e.Type, Off: e.Cookie}
		if !plus {
			if !out.AddDirEntry(de) {
				return i
			}
			continue
		}
		eo := out.AddDirLookupEntry(de)
		if eo == nil {
			return i
		}
		// The kernel takes no reference for "." and ".."; an entry whose
		// inode vanished meanwhile is listed without attributes.
		if e.Attr != nil && e.Name != "." && e.Name != ".." {
			f.policies.saw(ms.Ino(in.NodeId), e.Name, e.Attr)
			f.fillEntry(f.files.overlay(e.Attr), eo)
		}
	}
	return len(ents)
}

// ReleaseDir implements fuse.RawFileSystem: the last close of a removed
// directory frees it.
func (f *FS) ReleaseDir(in *fuse.ReleaseIn) {
	f.dirs.close(in.Fh)
	status("releasedir", f.meta.Release(f.op(), ms.Ino(in.NodeId), f.session.Load()))
}

// FsyncDir implements fuse.RawFileSystem: namespace changes are KV
// commits, so syncing a directory makes the metadata durable.
func (f *FS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return status("fsyncdir", f.meta.Sync(f.op()))
}
