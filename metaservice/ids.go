package metaservice

import "fmt"

// Ino is an inode number. Its high ShardBits bits name the inode's home
// shard, so every key of the inode is derivable from the number alone. The
// root directory is inode 1 (FUSE's root), in shard 0.
type Ino uint64

// ShardID names a shard: a subtree root plus the key prefix its inodes live
// under.
type ShardID uint16

// ChunkID names a chunk. Like inode numbers, chunk ids carry the shard that
// allocated them in their high bits, so per-shard counters never collide.
type ChunkID uint64

const (
	// ShardBits is how many high bits of an Ino or ChunkID name the shard.
	ShardBits = 16
	localBits = 64 - ShardBits
	localMask = 1<<localBits - 1

	// RootIno is the root directory.
	RootIno Ino = 1
	// RootShard holds the root directory and everything not under another
	// shard root.
	RootShard ShardID = 0
)

// MakeIno combines a shard and a shard-local number.
func MakeIno(s ShardID, local uint64) Ino { return Ino(uint64(s)<<localBits | local&localMask) }

// Shard returns the inode's home shard.
func (i Ino) Shard() ShardID { return ShardID(uint64(i) >> localBits) }

// Local returns the shard-local part of the inode number.
func (i Ino) Local() uint64 { return uint64(i) & localMask }

func (i Ino) String() string { return fmt.Sprintf("%d", uint64(i)) }

// MakeChunkID combines a shard and a shard-local chunk number.
func MakeChunkID(s ShardID, local uint64) ChunkID {
	return ChunkID(uint64(s)<<localBits | local&localMask)
}

// Shard returns the shard whose counter allocated the chunk id.
func (c ChunkID) Shard() ShardID { return ShardID(uint64(c) >> localBits) }

// Local returns the shard-local part of the chunk id.
func (c ChunkID) Local() uint64 { return uint64(c) & localMask }

func (c ChunkID) String() string { return fmt.Sprintf("%016x", uint64(c)) }
