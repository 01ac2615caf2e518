package fs

import (
	"context"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Meta is what the client needs of the metaservice. Both the in-process
// *metaservice.Service (embedded mount) and the RPC client satisfy it.
type Meta interface {
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
	Access(ctx context.Context, c *ms.Cred, ino ms.Ino, mask uint32) error

	GetXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string) ([]byte, error)
	SetXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string, value []byte, flags uint32) error
	ListXattr(ctx context.Context, c *ms.Cred, ino ms.Ino) ([]string, error)
	RemoveXattr(ctx context.Context, c *ms.Cred, ino ms.Ino, name string) error

	Open(ctx context.Context, c *ms.Cred, ino ms.Ino, flags uint32, session uint64) (*ms.Attr, error)
	Release(ctx context.Context, ino ms.Ino, session uint64) error
	RegisterSession(ctx context.Context, info ms.SessionInfo) (uint64, error)
	Heartbeat(ctx context.Context, id uint64) error
	CloseSession(ctx context.Context, id uint64) error

	Flock(ctx context.Context, ino ms.Ino, h ms.LockOwner, typ uint32, block bool) error
	GetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock) (ms.PosixLock, error)
	SetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock, block bool) error
	ReleaseOwner(ctx context.Context, ino ms.Ino, h ms.LockOwner) error

	AllocChunk(ctx context.Context, ino ms.Ino, index uint32, dataserver string, lease time.Duration) (*ms.ChunkRecord, error)
	AcquireLease(ctx context.Context, ino ms.Ino, index uint32, dataserver string, dur time.Duration) (*ms.ChunkRecord, error)
	Chunks(ctx context.Context, ino ms.Ino, from, to uint32) ([]ms.IndexedChunk, error)
	CommitWrite(ctx context.Context, ino ms.Ino, size uint64, mtime int64, chunks []ms.ChunkVersion) (*ms.Attr, error)

	SetPolicy(ctx context.Context, c *ms.Cred, dir ms.Ino, source []byte) error
	ResolvePolicy(ctx context.Context, ino ms.Ino) (ms.EffectivePolicy, error)
	Sync(ctx context.Context) error
}

// Data is what the client needs of its co-located dataserver: chunk
// reads and writes at local latency.
type Data interface {
	// ID names the dataserver, as the metaservice's chunk records do.
	ID() string
	// Write stores data at off of chunk and returns the chunk's new
	// version. With sync the write is durable before it returns.
	Write(ctx context.Context, chunk uint64, off int64, data []byte, sync bool) (uint64, error)
	// Read fills dst from off of chunk; holes and bytes past the chunk's
	// end read as zeros.
	Read(ctx context.Context, chunk uint64, off int64, dst []byte) error
	// Truncate sets a chunk's size and returns its new version.
	Truncate(ctx context.Context, chunk uint64, size int64) (uint64, error)
	// Sync makes every acknowledged write of chunk durable (all chunks
	// with chunk 0).
	Sync(ctx context.Context, chunk uint64) error
	// GrantLease installs the write lease the metaservice issued.
	GrantLease(ctx context.Context, chunk uint64, holder string, epoch uint64, expiry int64) error
}

// The embedded mount drives the metaservice core in process.
var _ Meta = (*ms.Service)(nil)
