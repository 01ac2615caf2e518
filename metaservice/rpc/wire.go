package rpc

import (
	ms "github.com/lis-fs/lis/metaservice"
)

// The request and response messages of lis.Meta. Every struct is in
// msgpack array layout: compact, but positional, so a field may only ever
// be appended, and both ends must agree on the field count (the msgpack
// library refuses an array of another length). Core types that already
// have an array layout (Attr, ChunkRecord, PosixLock, LockOwner,
// SessionInfo, ChunkVersion) travel as they are; the others get a wire
// twin here, because they are in map layout (field names on the wire) or
// hold a time.Time (a msgpack extension, which msgrpc refuses).

// wireCred is ms.Cred on the wire.
type wireCred struct {
	_msgpack struct{} `msgpack:",as_array"`

	Uid    uint32
	Gid    uint32
	Groups []uint32
	Pid    uint32
}

func toWireCred(c *ms.Cred) wireCred {
	return wireCred{Uid: c.Uid, Gid: c.Gid, Groups: c.Groups, Pid: c.Pid}
}

func (w *wireCred) cred() *ms.Cred {
	return &ms.Cred{Uid: w.Uid, Gid: w.Gid, Groups: w.Groups, Pid: w.Pid}
}

// empty is the response of operations that return only an error, and the
// request of those that take no argument.
type empty struct {
	_msgpack struct{} `msgpack:",as_array"`
}

// inoReq names one inode: GetAttr, ReadLink.
type inoReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino ms.Ino
}

// entryReq names a directory entry: Lookup, Unlink, Rmdir.
type entryReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred   wireCred
	Parent ms.Ino
	Name   string
}

// createReq makes a new inode: Mknod, Mkdir, Create (with Session) and
// Symlink (with Target).
type createReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred      wireCred
	Parent    ms.Ino
	Name      string
	Mode      uint32
	Umask     uint32
	Rdev      uint32
	Target    string
	Exclusive bool
	Session   uint64
}

// createFileReq is a Create that makes the file's first chunk too.
type createFileReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Create     createReq
	Dataserver string
	Lease      int64
}

func (r *createReq) node() ms.NewNode {
	return ms.NewNode{Mode: r.Mode, Umask: r.Umask, Rdev: r.Rdev, Target: r.Target, Exclusive: r.Exclusive}
}

type setAttrReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred  wireCred
	Ino   ms.Ino
	Valid uint32
	Mode  uint32
	Uid   uint32
	Gid   uint32
	Size  uint64
	Atime int64
	Mtime int64
	Ctime int64
}

func (r *setAttrReq) in() ms.SetAttrIn {
	return ms.SetAttrIn{Valid: r.Valid, Mode: r.Mode, Uid: r.Uid, Gid: r.Gid, Size: r.Size,
		Atime: r.Atime, Mtime: r.Mtime, Ctime: r.Ctime}
}

type linkReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred   wireCred
	Ino    ms.Ino
	Parent ms.Ino
	Name   string
}

type renameReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred    wireCred
	SrcDir  ms.Ino
	SrcName string
	DstDir  ms.Ino
	DstName string
	Flags   uint32
}

type readDirReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred   wireCred
	Dir    ms.Ino
	Cookie uint64
	Limit  int64 // <= 0 asks for the default page size
	Plus   bool
}

// wireDirEntry is ms.DirEntry on the wire.
type wireDirEntry struct {
	_msgpack struct{} `msgpack:",as_array"`

	Name   string
	Ino    ms.Ino
	Type   uint32
	Cookie uint64
	Attr   *ms.Attr
}

type readDirResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Entries []wireDirEntry
}

// stringResp carries ReadLink's target.
type stringResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	S string
}

// xattrReq is GetXattr, SetXattr (Value, Flags), ListXattr (no Name) and
// RemoveXattr.
type xattrReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred  wireCred
	Ino   ms.Ino
	Name  string
	Value []byte
	Flags uint32
}

type bytesResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	B []byte
}

type namesResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Names []string
}

type accessReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred wireCred
	Ino  ms.Ino
	Mask uint32
}

type statFSResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Capacity   uint64
	UsedBytes  uint64
	UsedInodes uint64
	MaxInodes  uint64
	FreeBytes  uint64
}
