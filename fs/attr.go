package fs

import (
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// blockSize is the st_blksize the client reports: the preferred I/O size
// tools such as cp use for their buffers.
const blockSize = 1 << 20

func fillAttr(a *ms.Attr, out *fuse.Attr) {
	out.Ino = uint64(a.Ino)
	out.Size = a.Size
	if a.IsDir() {
		out.Size = 4096
	}
	out.Blocks = (a.Allocated() + 511) / 512 // holes excluded (sparse files)
	if a.IsDir() {
		out.Blocks = 8
	}
	out.Mode = a.Mode
	out.Nlink = a.Nlink
	out.Uid, out.Gid = a.Uid, a.Gid
	out.Rdev = a.Rdev
	out.Blksize = blockSize
	setTime(a.Atime, &out.Atime, &out.Atimensec)
	setTime(a.Mtime, &out.Mtime, &out.Mtimensec)
	setTime(a.Ctime, &out.Ctime, &out.Ctimensec)
}

// setTime splits Unix nanoseconds into seconds and nanoseconds, flooring
// so that times before 1970 keep a nanosecond part in [0, 1e9).
func setTime(ns int64, sec *uint64, nsec *uint32) {
	s, n := ns/1e9, ns%1e9
	if n < 0 {
		s, n = s-1, n+1e9
	}
	*sec, *nsec = uint64(s), uint32(n)
}

// fillEntry answers with an entry; long says the metaservice holds it for
// this session, so the kernel may keep it for CacheTimeout.
func (f *FS) fillEntry(a *ms.Attr, out *fuse.EntryOut, long bool) {
	f.files.looked(a.Ino) // the kernel takes a reference with the entry
	f.coh.kernelGot(a.Ino)
	out.NodeId = uint64(a.Ino)
	out.Generation = 1
	fillAttr(a, &out.Attr)
	out.SetEntryTimeout(f.timeout(f.opts.EntryTimeout, long))
	out.SetAttrTimeout(f.attrTimeout(a, long))
}

func (f *FS) fillAttrOut(a *ms.Attr, out *fuse.AttrOut, long bool) {
	fillAttr(a, &out.Attr)
	out.SetTimeout(f.attrTimeout(a, long))
}

// attrTimeout is how long the kernel may cache a's attributes. A file this
// client is writing has its size in flux here, so the kernel must ask.
func (f *FS) attrTimeout(a *ms.Attr, long bool) time.Duration {
	if a.Type() == syscall.S_IFREG && f.files.unconfirmed(a.Ino) {
		return 0
	}
	return f.timeout(f.opts.AttrTimeout, long)
}

// timeout is short, or CacheTimeout for an answer held long.
func (f *FS) timeout(short time.Duration, long bool) time.Duration {
	if long && short > 0 {
		return max(f.opts.CacheTimeout, short)
	}
	return short
}
