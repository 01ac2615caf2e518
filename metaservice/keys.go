package metaservice

import (
	"encoding/binary"
	"hash/fnv"
)

// Key layout. Every key of an inode lies under its shard's prefix, so a
// shard is one contiguous key range (one TiKV region or more, split at the
// shard boundary and placeable on its own):
//
//	S<shard:2>A<ino:8>                   attributes
//	S<shard:2>D<dir:8><hash:8><name>     dentry of name in dir (dir's shard)
//	S<shard:2>C<ino:8><index:4>          chunk record of the index-th chunk
//	S<shard:2>X<ino:8><name>             extended attribute
//	S<shard:2>P<ino:8>                   replication policy of a directory
//	S<shard:2>O<ino:8>                   opens of ino, per session
//	S<shard:2>U<ino:8>                   unlinked but still open (orphan)
//	S<shard:2>L<ino:8>                   lock table of ino
//	S<shard:2>Ni / Nc / Nu               inode counter, chunk counter, usage
//
// Volume-wide keys:
//
//	GS<shard:2>                          shard record
//	Gs<session:8>                        client session
//	GQ<chunk:8>                          chunk deletion queue
//	Gd<dataserver id>                    registered dataserver (registry)
//	GN<name>                             volume counters (shards, sessions)
//	GF                                   format record (volume identity)
//
// The dentry key puts a hash of the name before the name so that readdir
// cookies are stable positions: a cookie is the hash to resume from, which
// no insertion or deletion elsewhere in the directory can shift.
const (
	tagShard    = 'S'
	tagGlobal   = 'G'
	kAttr       = 'A'
	kDentry     = 'D'
	kChunk      = 'C'
	kXattr      = 'X'
	kPolicy     = 'P'
	kOpen       = 'O'
	kOrphan     = 'U'
	kLocks      = 'L'
	kCounter    = 'N'
	gShard      = 'S'
	gSession    = 's'
	gDeleteQ    = 'Q'
	gDataserver = 'd'
	gCounter    = 'N'
	gFormat     = 'F'
	gReview     = 'R'
	gSweep      = 'W'
	gLost       = 'L'
	cInode      = 'i'
	cChunk      = 'c'
	cUsage      = 'u'
	keyInoLen   = 3 + 1 + 8 // shard prefix + kind + ino
	hashOffset  = 3         // cookies below this are ".", ".." and the start
)

func shardPrefix(s ShardID) []byte {
	return []byte{tagShard, byte(s >> 8), byte(s)}
}

// shardRange returns the key range [start, end) of a shard.
func shardRange(s ShardID) (start, end []byte) {
	start = shardPrefix(s)
	if s == ^ShardID(0) {
		return start, []byte{tagShard + 1}
	}
	return start, shardPrefix(s + 1)
}

func inoKey(kind byte, ino Ino, extra int) []byte {
	k := make([]byte, keyInoLen, keyInoLen+extra)
	s := ino.Shard()
	k[0], k[1], k[2], k[3] = tagShard, byte(s>>8), byte(s), kind
	binary.BigEndian.PutUint64(k[4:], uint64(ino))
	return k
}

func attrKey(ino Ino) []byte   { return inoKey(kAttr, ino, 0) }
func policyKey(ino Ino) []byte { return inoKey(kPolicy, ino, 0) }
func orphanKey(ino Ino) []byte { return inoKey(kOrphan, ino, 0) }
func locksKey(ino Ino) []byte  { return inoKey(kLocks, ino, 0) }

// nameHash orders dentries and is the readdir cookie space. It is never
// below hashOffset and leaves headroom for cookie = hash+1.
func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()>>2 + hashOffset
}

func dentryKey(dir Ino, name string) []byte {
	k := append(inoKey(kDentry, dir, 8+len(name)), make([]byte, 8)...)
	binary.BigEndian.PutUint64(k[keyInoLen:], nameHash(name))
	return append(k, name...)
}

// dentryRange is the key range of dir's dentries whose hash is >= from.
func dentryRange(dir Ino, from uint64) (start, end []byte) {
	p := inoKey(kDentry, dir, 8)
	start = binary.BigEndian.AppendUint64(p, from)
	return start, prefixEnd(inoKey(kDentry, dir, 0))
}

// dentryName extracts the hash and name from a dentry key.
func dentryName(key []byte) (uint64, string) {
	return binary.BigEndian.Uint64(key[keyInoLen:]), string(key[keyInoLen+8:])
}

func chunkKey(ino Ino, index uint32) []byte {
	return binary.BigEndian.AppendUint32(inoKey(kChunk, ino, 4), index)
}

func chunkRange(ino Ino, from uint32) (start, end []byte) {
	return chunkKey(ino, from), prefixEnd(inoKey(kChunk, ino, 0))
}

func chunkIndexOf(key []byte) uint32 { return binary.BigEndian.Uint32(key[keyInoLen:]) }

func xattrKey(ino Ino, name string) []byte {
	return append(inoKey(kXattr, ino, len(name)), name...)
}

func xattrPrefix(ino Ino) []byte { return inoKey(kXattr, ino, 0) }

func openKey(ino Ino) []byte { return inoKey(kOpen, ino, 0) }

func counterKey(s ShardID, which byte) []byte {
	return append(shardPrefix(s), kCounter, which)
}

// kindRange is the range of every key of one kind in a shard.
func kindRange(s ShardID, kind byte) (start, end []byte) {
	start = append(shardPrefix(s), kind)
	return start, prefixEnd(start)
}

func inoOfKey(key []byte) Ino { return Ino(binary.BigEndian.Uint64(key[4:12])) }

func shardRecordKey(s ShardID) []byte { return []byte{tagGlobal, gShard, byte(s >> 8), byte(s)} }

func sessionKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagGlobal, gSession}, id)
}

func deleteQueueKey(c ChunkID) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagGlobal, gDeleteQ}, uint64(c))
}

// reviewKey queues a placement review of ino's subtree (review.go).
func reviewKey(ino Ino) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagGlobal, gReview}, uint64(ino))
}

func dataserverKey(id string) []byte { return append([]byte{tagGlobal, gDataserver}, id...) }

func globalCounterKey(name string) []byte {
	return append([]byte{tagGlobal, gCounter}, name...)
}

func formatKey() []byte { return []byte{tagGlobal, gFormat} }

func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
