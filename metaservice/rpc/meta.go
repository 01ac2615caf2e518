package rpc

import (
	"context"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// Namespace is the POSIX namespace: what the FUSE client calls for every
// file system operation on names, attributes and xattrs.
type Namespace interface {
	Lookup(ctx context.Context, c *ms.Cred, parent ms.Ino, name string) (*ms.Attr, error)
	GetAttr(ctx context.Context, ino ms.Ino) (*ms.Attr, error)
	SetAttr(ctx context.Context, c *ms.Cred, ino ms.Ino, in ms.SetAttrIn) (*ms.Attr, error)
	Mknod(ctx context.Context, c *ms.Cred, parent ms.Ino, name string, n ms.NewNode) (*ms.Attr, error)
	Mkdir(ctx context.Context, c *ms.Cred, parent ms.Ino, name string, n ms.NewNode) (*ms.Attr, error)
	Create(ctx context.Context, c *ms.Cred, parent ms.Ino, name string, n ms.NewNode, session uint64) (*ms.Attr, error)
	Symlink(ctx context.Context, c *ms.Cred, parent ms.Ino, name, target string) (*ms.Attr, error)
	ReadLink(ctx context.Context, ino ms.Ino) (string, error)
	Link(ctx context.Context, c *ms.Cred, ino, parent ms.Ino, name string) (*ms.Attr, error)
	Unlink(ctx context.Context, c *ms.Cred, parent ms.Ino, name string) error
	Rmdir(ctx context.Context, c *ms.Cred, parent ms.Ino, name string) error
	Rename(ctx context.Context, c *ms.Cred, srcDir ms.Ino, srcName string, dstDir ms.Ino, dstName string, flags uint32) error
	ReadDir(ctx context.Context, c *ms.Cred, dir ms.Ino, cookie uint64, limit int, plus bool) ([]ms.DirEntry, error)
	StatFS(ctx context.Context) (*ms.StatFS, error)
	GetXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string) ([]byte, error)
	SetXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string, value []byte, flags uint32) error
	ListXattr(ctx context.Context, c *ms.Cred, ino ms.Ino) ([]string, error)
	RemoveXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string) error
	Access(ctx context.Context, c *ms.Cred, ino ms.Ino, mask uint32) error
	Sync(ctx context.Context) error
}

// Sessions is a client's session, its open files and its locks.
type Sessions interface {
	Open(ctx context.Context, c *ms.Cred, ino ms.Ino, flags uint32, session uint64) (*ms.Attr, error)
	Release(ctx context.Context, ino ms.Ino, session uint64) error
	ReleaseOpens(ctx context.Context, inos []ms.Ino, session uint64) error
	RegisterSession(ctx context.Context, info ms.SessionInfo) (uint64, error)
	Heartbeat(ctx context.Context, id uint64) error
	CloseSession(ctx context.Context, id uint64) error
	ListSessions(ctx context.Context) ([]ms.Session, error)
	Flock(ctx context.Context, ino ms.Ino, h ms.LockOwner, typ uint32, block bool) error
	GetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock) (ms.PosixLock, error)
	SetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock, block bool) error
	ReleaseOwner(ctx context.Context, ino ms.Ino, h ms.LockOwner) error
	AwaitInvalidations(ctx context.Context, session, epoch, seq uint64, release []callbacks.Release, wait time.Duration) (callbacks.Batch, error)
}

// Chunks is the chunk records of files, used by the write path of the
// client and by dataservers.
type Chunks interface {
	AllocChunk(ctx context.Context, ino ms.Ino, index uint32, dataserver string, lease time.Duration) (*ms.ChunkRecord, error)
	CreateFile(ctx context.Context, c *ms.Cred, parent ms.Ino, name string, n ms.NewNode, session uint64, dataserver string, lease time.Duration) (*ms.CreatedFile, error)
	AcquireLease(ctx context.Context, ino ms.Ino, index uint32, dataserver string, dur time.Duration) (*ms.ChunkRecord, error)
	Chunks(ctx context.Context, ino ms.Ino, from, to uint32) ([]ms.IndexedChunk, error)
	CommitWrite(ctx context.Context, ino ms.Ino, size uint64, mtime int64, chunks []ms.ChunkVersion) (*ms.Attr, error)
	PendingDeletions(ctx context.Context, limit int) ([]ms.Deletion, error)
	AckDeletions(ctx context.Context, chunks []ms.ChunkID) error
}

// Admin is what the lis tools use: shards, placement and fsck.
type Admin interface {
	CreateShard(ctx context.Context, c *ms.Cred, dir ms.Ino, path string) (*ms.ShardRecord, error)
	ListShards(ctx context.Context) ([]ms.ShardInfo, error)
	SetShardSite(ctx context.Context, id ms.ShardID, site string) error
	PlacementRules(ctx context.Context, group, labelKey string, voters int) ([]byte, error)
	Fsck(ctx context.Context) (*ms.FsckReport, error)
}

// Meta is every operation of the metaservice. *metaservice.Service
// implements it in process, *Client over the network.
type Meta interface {
	Namespace
	Sessions
	Chunks
	Policies
	Admin
	Registry
}

var (
	_ Meta = (*ms.Service)(nil)
	_ Meta = (*Client)(nil)
)
