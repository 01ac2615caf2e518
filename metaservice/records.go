package metaservice

import (
	"fmt"
	"syscall"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lis-fs/lis/dataserver"
)

// Attr is an inode's attribute record. Times are nanoseconds since the Unix
// epoch. Mode holds the file type bits (syscall.S_IFMT) and the permission
// bits.
//
// Invariants (checked by fsck):
//   - Nlink of a directory is 2 + its number of subdirectories; of any other
//     inode, the number of dentries naming it (0 only while it is an
//     orphan: unlinked but still open).
//   - Parent of a directory is the directory holding its one dentry (the
//     root is its own parent).
//   - ChildShard of a directory is its parent's, unless it is a shard root
//     (then it is that shard's id). Parent of any other inode is the directory
//     of one of its dentries; it is what policy resolution walks up from.
type Attr struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino    Ino
	Mode   uint32
	Nlink  uint32
	Uid    uint32
	Gid    uint32
	Rdev   uint32
	Size   uint64
	Atime  int64
	Mtime  int64
	Ctime  int64
	Parent Ino
	// Target is a symlink's target.
	Target string
	// Gen is bumped by each content change committed for the inode (write,
	// truncate); clients compare it for close-to-open consistency.
	Gen uint64
	// HasACL says the inode has an access ACL xattr, so permission checks
	// of the common ACL-less inode cost no extra read.
	HasACL bool
	// HasDefaultACL says a directory has a default ACL xattr, read by
	// every create under it.
	HasDefaultACL bool
	// HasCaps says the inode has a security.capability xattr, which every
	// content change and chown removes.
	HasCaps bool
	// ChildShard is the shard a directory's new children are born in: its
	// parent's ChildShard, or a new shard for a shard root.
	ChildShard ShardID
	// DataBlocks counts the blocks (DataBlockSize) of a regular file's
	// chunks that hold data, holes excluded, as their dataservers last
	// reported them; BlocksKnown says it is kept (files created before
	// it was are charged their size). See Allocated.
	DataBlocks  uint64
	BlocksKnown bool
}

// DataBlockSize is the unit of Attr.DataBlocks: a dataserver's block.
const DataBlockSize = 64 << 10

// Allocated is the bytes a file is charged for (st_blocks, du, usage):
// its data blocks, holes excluded, but never more than its size, so that
// a small file is not charged a whole block.
func (a *Attr) Allocated() uint64 {
	if !a.BlocksKnown || a.Type() != syscall.S_IFREG {
		return a.Size
	}
	return min(a.Size, a.DataBlocks*DataBlockSize)
}

// Type returns the S_IFMT bits of the mode.
func (a *Attr) Type() uint32 { return a.Mode & syscall.S_IFMT }

// IsDir reports whether the inode is a directory.
func (a *Attr) IsDir() bool { return a.Type() == syscall.S_IFDIR }

// Perm returns the permission bits including setuid, setgid and sticky.
func (a *Attr) Perm() uint32 { return a.Mode & 07777 }

// Dentry is the value of a directory entry: the child and its type, so
// readdir needs no attribute reads.
type Dentry struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino  Ino
	Type uint32 // S_IFMT bits of the child
}

// Replica is one dataserver's copy of a chunk and the version it holds.
type Replica struct {
	_msgpack struct{} `msgpack:",as_array"`

	Dataserver string
	Version    uint64
}

// ChunkRecord describes the index-th chunk of a file.
//
// Invariants: Version is the latest committed version of the chunk; a
// replica whose Version is lower is stale and must not serve reads or take
// the lease. LeaseEpoch only grows.
type ChunkRecord struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID          ChunkID
	Version     uint64
	Primary     string // dataserver holding the write lease, if any
	LeaseEpoch  uint64
	LeaseExpiry int64 // unix nanoseconds
	Replicas    []Replica
	// Mode is how the primary ships to the other Replicas: the
	// replication of the file's policy when they were placed.
	Mode dataserver.ReplMode
	// Blocks counts the chunk's blocks that hold data, at Version.
	Blocks uint32
}

// ShardRecord registers a shard.
type ShardRecord struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID      ShardID
	Root    Ino
	Path    string // path of the root in the volume when the shard was made (informational)
	Created int64
	Site    string // site label its leaders should live in, if pinned
	// Retired is when the shard's root was removed (0 while it lives). A
	// retired shard has no root and no inode is born in it again, but its
	// record stays: inodes renamed out of its subtree keep their numbers,
	// and so their keys, in its range.
	Retired int64
}

// usage is a shard's running totals, kept up to date in batches.
type usage struct {
	_msgpack struct{} `msgpack:",as_array"`

	Inodes int64
	Bytes  int64
}

// deletion is a queued chunk deletion: the chunk and where copies were.
type deletion struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunk    ChunkID
	Replicas []string
	Queued   int64
	// Diverged names the copies that may hold versions past the one
	// given, which no other copy saw (a failed-over primary's): such a
	// copy is quarantined, not removed, if it does.
	Diverged map[string]uint64
}

// sessionRecord is a client's session.
type sessionRecord struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID      uint64
	Info    SessionInfo
	Expires int64 // unix nanoseconds
}

func encode(v any) []byte {
	b, err := msgpack.Marshal(v)
	if err != nil {
		// Only our own fixed record types are encoded; failure is a bug.
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return b
}

func decode(key, b []byte, v any) error {
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("corrupt record at key %q: %w", key, err)
	}
	return nil
}
