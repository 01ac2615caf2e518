package rpc

import (
	ms "github.com/lis-fs/lis/metaservice"
)

// Messages of sessions, open files, locks, chunks and administration; see
// wire.go for the layout rules.

type openReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred    wireCred
	Ino     ms.Ino
	Flags   uint32
	Session uint64
}

type releaseReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino     ms.Ino
	Session uint64
}

type releaseOpensReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Inos    []ms.Ino
	Session uint64
}

type registerReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Info ms.SessionInfo
}

// idReq and idResp carry a session id.
type idReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID uint64
}

type idResp = idReq

// wireSession is ms.Session with its expiry in Unix nanoseconds.
type wireSession struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID      uint64
	Info    ms.SessionInfo
	Expires int64
}

type sessionsResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Sessions []wireSession
}

type flockReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino    ms.Ino
	Holder ms.LockOwner
	Type   uint32
	Block  bool
}

// lockReq is GetLk and SetLk (with Block for F_SETLKW).
type lockReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino   ms.Ino
	Lock  ms.PosixLock
	Block bool
}

type ownerReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino    ms.Ino
	Holder ms.LockOwner
}

// chunkReq is AllocChunk and AcquireLease.
type chunkReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino        ms.Ino
	Index      uint32
	Dataserver string
	Lease      int64 // nanoseconds
}

type chunksReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino  ms.Ino
	From uint32
	To   uint32
}

// wireIndexedChunk is ms.IndexedChunk on the wire.
type wireIndexedChunk struct {
	_msgpack struct{} `msgpack:",as_array"`

	Index uint32
	Chunk ms.ChunkRecord
}

type chunksResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunks []wireIndexedChunk
}

type commitReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino    ms.Ino
	Size   uint64
	Mtime  int64
	Chunks []ms.ChunkVersion
}

type limitReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Limit int64 // <= 0 asks for the most one call returns
}

// wireDeletion is ms.Deletion on the wire.
type wireDeletion struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunk    ms.ChunkID
	Replicas []string
}

type deletionsResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Deletions []wireDeletion
}

type ackReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunks []ms.ChunkID
}

type createShardReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred wireCred
	Dir  ms.Ino
	Path string
}

// wireShardInfo is ms.ShardInfo on the wire.
type wireShardInfo struct {
	_msgpack struct{} `msgpack:",as_array"`

	Record ms.ShardRecord
	Start  []byte
	End    []byte
	Inodes int64
	Bytes  int64
	Where  string
}

type shardsResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Shards []wireShardInfo
}

type siteReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Shard ms.ShardID
	Site  string
}

type placementReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Group    string
	LabelKey string
	Voters   int64
}

// wireViolation and fsckResp are ms.FsckReport on the wire.
type wireViolation struct {
	_msgpack struct{} `msgpack:",as_array"`

	Path    string
	Ino     ms.Ino
	Problem string
}

type fsckResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Dirs       int64
	Files      int64
	Violations []wireViolation
}
