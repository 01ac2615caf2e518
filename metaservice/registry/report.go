package registry

// What a dataserver reports, with each heartbeat, of the chunks it is the
// primary of: how far each peer's copies lag, and what exists only on
// this dataserver. The figures come from one pass over its chunks per
// heartbeat (dataserver census), so they are never older than a
// heartbeat interval plus the registry's own age; lis status reads them
// from the registry and never scans chunks.

// MaxDangerChunks bounds the endangered chunks a heartbeat names; the
// totals in Danger count all of them.
const MaxDangerChunks = 64

// PeerLag is how far one peer's copies of this dataserver's chunks lag.
type PeerLag struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID        string
	Connected bool
	// Chunks counts the chunks whose copy there is behind; Bytes is what
	// was written here since (an upper bound); Oldest is when the oldest
	// change the peer lacks was made (Unix ns; 0 when nothing lags).
	Chunks int
	Bytes  int64
	Oldest int64
	// RawBytes and WireBytes count what was shipped to it so far, before
	// and after compression.
	RawBytes  int64
	WireBytes int64
	LastError string
}

// Danger is what would be lost if this dataserver died now.
type Danger struct {
	_msgpack struct{} `msgpack:",as_array"`

	// Chunks and Bytes count the chunks with data that no other copy
	// holds, and that data (an upper bound).
	Chunks int
	Bytes  int64
	// Under counts the chunks with fewer current copies than their
	// policy's target_copies.
	Under int
	// Top names the worst chunks: most bytes only here first, then the
	// fewest current copies.
	Top []DangerChunk
}

// DangerChunk is one endangered chunk of this dataserver's.
type DangerChunk struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino     uint64
	Index   uint32
	Chunk   uint64
	Bytes   int64 // data no other copy holds
	Oldest  int64 // when the oldest of it was written, Unix ns (0: unknown)
	Size    int64 // the chunk's size here
	Copies  int   // copies placed, this one included
	Current int   // copies holding its current version, this one included
	Target  int   // copies its policy asks for (0: unknown)
}

// Endangered reports whether c's data is at risk: some of it exists only
// on its primary, or it has fewer current copies than its target.
func (c *DangerChunk) Endangered() bool {
	return c.Bytes > 0 || c.Target > 0 && c.Current < c.Target
}

// DamagedChunk is a chunk copy on this dataserver with blocks that failed
// their checksum (found by the scrubber or a reader): that copy must not
// be counted on. Ino and Index are known when this dataserver is the
// chunk's primary.
type DamagedChunk struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunk  uint64
	Ino    uint64
	Index  uint32
	Blocks []int64 // the bad blocks' numbers (at most MaxDangerChunks)
}

// QuarantinedCopy is a chunk copy a dataserver took out of service
// because it diverged from the chunk's other copies (it took writes, as a
// primary later failed over, that no other copy saw). It is never served;
// its files wait at Path for an operator.
type QuarantinedCopy struct {
	_msgpack struct{} `msgpack:",as_array"`

	Chunk   uint64
	Version uint64
	At      int64 // when it was quarantined, Unix ns
	Path    string
}
