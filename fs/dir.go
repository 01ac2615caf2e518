package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// OpenDir implements fuse.RawFileSystem. The open is registered with the
// metaservice, so a directory removed while open stays valid through its
// descriptors, as POSIX asks; the registration is kept past the close
// while the directory is cached long (diropens.go). The kernel's offset is the metaservice's
// stable cookie, so a listing resumes correctly whatever changed in
// between; a handle keeps the entries it fetched ahead (dirstream.go).
func (f *FS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	dir := ms.Ino(in.NodeId)
	if f.dirOpens.open(dir) {
		_, err := f.meta.Open(f.op(), f.cred(&in.InHeader), dir, syscall.O_RDONLY, f.session.Load())
		if err != nil {
			f.dirOpens.failed(dir)
			return status("opendir", err)
		}
	}
	out.Fh = f.dirs.open(f.coh.unused)
	if f.coh.isHeld(dir) {
		// The kernel may keep the listing: a change to the directory
		// reaches it as an invalidation of its pages (invalidate.go).
		out.OpenFlags |= fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
	}
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
	dir := ms.Ino(in.NodeId)
	fetch := func(limit int) ([]ms.DirEntry, answerMark, error) {
		call := f.coh.begin(f.op(), f.session.Load())
		ents, err := f.meta.ReadDir(call.ctx, f.cred(&in.InHeader), dir, in.Offset, limit, plus)
		f.coh.end(call, ms.AnsweredInos(ents), dir)
		if err == nil {
			f.coh.cacheListing(dir, ents, in.Offset == 0 && len(ents) < limit, call.start)
		}
		return ents, call.start, err
	}
	var ents []ms.DirEntry
	var mark answerMark
	var err error
	stream := f.dirs.get(in.Fh)
	if stream == nil || f.opts.AttrTimeout <= 0 {
		ents, mark, err = fetch(limit)
	} else {
		ents, mark, err = stream.entries(in.Offset, plus, f.opts.AttrTimeout, fetch)
	}
	if err != nil {
		return status("readdir", err)
	}
	n := f.addEntries(in, out, ents, plus, mark)
	if stream != nil && f.opts.AttrTimeout > 0 {
		stream.used(n)
	} else {
		f.coh.unused(ents[n:], mark)
	}
	return fuse.OK
}

// addEntries passes ents to the kernel's buffer until it is full, and
// returns how many it took.
// The entries were asked for at mark.
func (f *FS) addEntries(in *fuse.ReadIn, out *fuse.DirEntryList, ents []ms.DirEntry, plus bool, mark answerMark) int {
	dir := ms.Ino(in.NodeId)
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
			f.policies.saw(dir, e.Name, e.Attr)
			long := f.coh.stillLong(mark, dir, e.Ino) && f.coh.longEntry(dir, e.Name)
			f.fillEntry(f.files.overlay(e.Attr), eo, long)
		}
	}
	return len(ents)
}

// ReleaseDir implements fuse.RawFileSystem: the last close of a removed
// directory frees it.
func (f *FS) ReleaseDir(in *fuse.ReleaseIn) {
	dir := ms.Ino(in.NodeId)
	f.dirs.close(in.Fh)
	if f.dirOpens.close(dir, f.coh.isHeld(dir)) {
		f.releases.add(dir)
	}
}

// FsyncDir implements fuse.RawFileSystem: namespace changes are KV
// commits, so syncing a directory makes the metadata durable.
func (f *FS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return status("fsyncdir", f.meta.Sync(f.op()))
}
