package dataserver

import "fmt"

// Request and response types of the dataserver RPC service. They are
// msgpack-encoded by msgrpc; short tags keep the per-call overhead small.

// WriteReq writes Data at Offset of a chunk. CRC is the CRC32C of Data
// (Client.Write fills it in): a mismatch is refused with EBADMSG. Unless
// AnyVersion is set the chunk must be at ExpectedVersion (0 for a chunk not
// written yet), else the write is refused with ESTALE. Sync makes the write
// durable before the reply (O_SYNC/O_DSYNC writes).
type WriteReq struct {
	Chunk           uint64 `msgpack:"c"`
	ExpectedVersion uint64 `msgpack:"ev"`
	AnyVersion      bool   `msgpack:"av,omitempty"`
	Offset          int64  `msgpack:"o"`
	Data            []byte `msgpack:"d"`
	CRC             uint32 `msgpack:"k"`
	Sync            bool   `msgpack:"s,omitempty"`
	// Shm, when not zero, names the shared-memory write window (see
	// shm.go) that holds the data instead of Data: ShmLen bytes at ShmOff.
	// Client.Write fills these in on its own.
	Shm    uint64 `msgpack:"sh,omitempty"`
	ShmOff int64  `msgpack:"so,omitempty"`
	ShmLen int64  `msgpack:"sl,omitempty"`

	frame []byte // set by DecodeMsgpack: Data with room for a header in front
	// trusted is set by Local.Write, which computed CRC from Data itself:
	// checking it again would only cost a pass over the data.
	trusted bool
	// pieces are the chunkstore.PieceCRCs of Data at Offset, set when CRC
	// is checked (or computed, by Local.Write).
	pieces []uint32
}

// WriteResp acknowledges a mutation: the chunk is now at Version and Size.
// Durable says the mutation is on stable storage (it always is when the
// request asked for Sync).
type WriteResp struct {
	Version uint64 `msgpack:"v"`
	Size    int64  `msgpack:"s"`
	Durable bool   `msgpack:"d,omitempty"`
	// Blocks counts the chunk's blocks (chunkstore.BlockSize) that hold
	// data, holes excluded, after the mutation.
	Blocks uint32 `msgpack:"b,omitempty"`
}

// TruncateReq sets a chunk's size, with the same version rules as WriteReq.
type TruncateReq struct {
	Chunk           uint64 `msgpack:"c"`
	ExpectedVersion uint64 `msgpack:"ev"`
	AnyVersion      bool   `msgpack:"av,omitempty"`
	Size            int64  `msgpack:"n"`
	Sync            bool   `msgpack:"s,omitempty"`
}

// ReadReq reads Length bytes at Offset of a chunk.
type ReadReq struct {
	Chunk  uint64 `msgpack:"c"`
	Offset int64  `msgpack:"o"`
	Length int64  `msgpack:"n"`
}

// ReadResp is the data of a read (zeros past the chunk's end and in holes)
// and the version and size of the chunk the data was read from.
type ReadResp struct {
	Data    []byte `msgpack:"d"`
	Version uint64 `msgpack:"v"`
	Size    int64  `msgpack:"s"`
}

// SyncReq makes a chunk's acknowledged mutations durable, or every chunk's
// when All is set. Syncing a chunk this dataserver does not have succeeds
// (there is nothing to make durable).
type SyncReq struct {
	Chunk uint64 `msgpack:"c"`
	All   bool   `msgpack:"a,omitempty"`
}

// SyncResp gives the version of the chunk now durable (0 for All).
type SyncResp struct {
	Version uint64 `msgpack:"v"`
}

// DeleteReq deletes a chunk (no lease needed: the metaservice's garbage
// collector sends it to every copy). Quarantine keeps the copy's files in
// the chunk store's quarantine rather than removing them: a copy that
// diverged is never served again, but its writes are not thrown away.
type DeleteReq struct {
	Chunk      uint64 `msgpack:"c"`
	Quarantine bool   `msgpack:"q,omitempty"`
}

// Empty is the response of calls that return nothing.
type Empty struct{}

// Lease is a chunk's write lease as the metaservice issued it: Holder (a
// dataserver ID) may mutate Chunk until Expiry (Unix nanoseconds). Epochs
// only grow; a dataserver refuses a lease older than one it has seen.
type Lease struct {
	Chunk  uint64 `msgpack:"c"`
	Holder string `msgpack:"h"`
	Epoch  uint64 `msgpack:"e"`
	Expiry int64  `msgpack:"x"`
}

// RevokeLeaseReq ends every lease of Chunk with an epoch <= Epoch.
type RevokeLeaseReq struct {
	Chunk uint64 `msgpack:"c"`
	Epoch uint64 `msgpack:"e"`
}

// Peer is another dataserver: its ID and the TCP address it serves on.
type Peer struct {
	ID   string `msgpack:"i"`
	Addr string `msgpack:"a"`
}

// SetReplicasReq sets the dataservers a chunk's mutations are shipped to,
// and how.
type SetReplicasReq struct {
	Chunk    uint64   `msgpack:"c"`
	Replicas []Peer   `msgpack:"r"`
	Mode     ReplMode `msgpack:"m,omitempty"`
	// Owner is where the chunk's record is, so that what its replicas
	// acknowledge can be reported to it (Server.Announce).
	Owner ChunkOwner `msgpack:"o,omitempty"`
	// Target is how many copies the chunk's policy asks for, primary
	// included (0: unknown), so that the primary can report a chunk
	// that has fewer current copies (lis status).
	Target int `msgpack:"t,omitempty"`
}

// ChunkOwner names the metaservice record of a chunk: its file's inode
// and its index in the file. The zero value is unknown.
type ChunkOwner struct {
	Ino   uint64 `msgpack:"i"`
	Index uint32 `msgpack:"x"`
}

// ReplMode is how a primary ships a chunk to its replicas: the policy's
// replication, as far as the dataserver's part goes.
type ReplMode uint8

const (
	// ReplPriority ships every mutation at once, in journal order.
	ReplPriority ReplMode = iota
	// ReplLazy ships the chunk's changes as one patch when its batch
	// window closes, during priority hours, when the lazy backlog passes
	// its high-water mark, or when a client waits for a copy (lazy.go).
	ReplLazy
	// ReplSync ships like ReplPriority; the writer waits for every copy
	// after each write (the client's part).
	ReplSync
)

var replModeNames = [...]string{"async_priority", "async_lazy", "sync"}

func (m ReplMode) String() string {
	if int(m) < len(replModeNames) {
		return replModeNames[m]
	}
	return fmt.Sprintf("mode%d", uint8(m))
}

// ChunkReq names a chunk.
type ChunkReq struct {
	Chunk uint64 `msgpack:"c"`
}

// ChunkInfo describes a chunk on one dataserver.
type ChunkInfo struct {
	Chunk          uint64        `msgpack:"c"`
	Version        uint64        `msgpack:"v"`  // last acknowledged mutation
	DurableVersion uint64        `msgpack:"dv"` // last durable mutation
	Size           int64         `msgpack:"s"`
	Epoch          uint64        `msgpack:"e"`
	Lease          *Lease        `msgpack:"l,omitempty"`
	Resyncing      bool          `msgpack:"rs,omitempty"`
	Replicas       []ReplicaInfo `msgpack:"r,omitempty"`
	Mode           ReplMode      `msgpack:"m,omitempty"` // how Replicas are shipped to
}

// ReplicaInfo is what a sender knows of one replica of a chunk.
type ReplicaInfo struct {
	Peer         Peer   `msgpack:"p"`
	AckedVersion uint64 `msgpack:"a"` // durable on the replica
	SentVersion  uint64 `msgpack:"s"`
	NeedsResync  bool   `msgpack:"r,omitempty"`
	// LazyBytes is how much was written to a lazily replicated chunk
	// that its next batch will carry to this replica.
	LazyBytes int64 `msgpack:"lb,omitempty"`
	// BehindBytes is what was written to the chunk since the replica's
	// acknowledged version (an upper bound), and BehindSince when the
	// first of it was (Unix ns; 0 if unknown or current).
	BehindBytes int64 `msgpack:"bb,omitempty"`
	BehindSince int64 `msgpack:"bs,omitempty"`
}

// Checksums is a chunk's current state as block checksums (see
// chunkstore: each covers BlockSize bytes, zeros past the end). A replica
// sender diffs against it to copy only blocks that differ.
type Checksums struct {
	Exists    bool     `msgpack:"x"`
	Version   uint64   `msgpack:"v"`
	Size      int64    `msgpack:"s"`
	Resyncing bool     `msgpack:"rs,omitempty"`
	CRCs      []uint32 `msgpack:"c"`
}

// Stat describes a dataserver.
type Stat struct {
	ID             string     `msgpack:"i"`
	Site           string     `msgpack:"si"`
	Region         string     `msgpack:"re"`
	Chunks         int        `msgpack:"c"`
	LogicalBytes   int64      `msgpack:"b"`
	Capacity       int64      `msgpack:"ca"` // bytes it may store: the quota, or its filesystem's size
	Free           int64      `msgpack:"fr"` // bytes it may still take, net of the reserve kept for checkpoints
	JournalBytes   int64      `msgpack:"jb"`
	JournalFirst   uint64     `msgpack:"jf"`
	JournalLast    uint64     `msgpack:"jl"`
	JournalDurable uint64     `msgpack:"jd"`
	Applied        uint64     `msgpack:"ap"`
	PendingBytes   int64      `msgpack:"pb"`
	DiskFull       bool       `msgpack:"df,omitempty"` // writes refused: ENOSPC applying the journal
	ApplyError     string     `msgpack:"ae,omitempty"` // why writes are refused, if they are
	ChecksumErrors uint64     `msgpack:"ce"`
	OpenFiles      int        `msgpack:"of"` // chunk data files open (see Config.MaxOpenChunks)
	DirectAppends  uint64     `msgpack:"da"` // writes appended straight to chunk files (append.go)
	Peers          []PeerStat `msgpack:"p,omitempty"`
}

// PeerStat is the state of replication to one peer.
type PeerStat struct {
	Peer        Peer   `msgpack:"p"`
	Connected   bool   `msgpack:"c"`
	Chunks      int    `msgpack:"n"`
	Behind      int    `msgpack:"b"` // chunks whose acked version is not current
	Resyncs     uint64 `msgpack:"r"` // full copies made
	CopiedBytes int64  `msgpack:"cb"`
	RawBytes    int64  `msgpack:"rb"` // replication batches shipped, uncompressed
	WireBytes   int64  `msgpack:"wb"` // ... as sent (lz4 where it helps)
	LastError   string `msgpack:"e,omitempty"`
}
