// Package chunkstore keeps a dataserver's chunks on local disk: one sparse
// data file per chunk and a sidecar holding the chunk's persisted metadata
// (version, size, lease epoch, replica list) and a CRC32C per 64 KiB block.
//
// Checksums. Every block's checksum covers the full BlockSize bytes of the
// block, with the bytes past the end of the chunk counted as zeros; a hole
// therefore has the checksum of a zero block and truncation keeps the rule
// true by recomputing the new last block. ReadAt verifies every block it
// touches and fails the read with EIO (and reports the block) rather than
// return data that does not match its checksum. A write keeps the
// checksums current at once: a block it covers whole is hashed from the
// write's data, a block it covers in part has its checksum patched from
// the bytes the write replaces (CRC32C is affine, so the old checksum,
// the old bytes and the new ones determine the new checksum), which costs
// a read of those bytes rather than of the whole block. A caller that has
// checked the write's own checksum passes the checksums of its pieces
// (PieceCRCs, cut at block boundaries; JoinCRCs gives the whole), so the
// data is hashed once on its way in. Only while the
// owner replays its journal (BeginReplay) are such blocks "stale", hashed
// from the data file at the next Snapshot.
//
// Durability. A Chunk's in-memory checksums always match the bytes the
// chunk has written to its data file, but the sidecar on disk is only
// rewritten by Store.Checkpoint (data file fdatasync, then sidecar written to
// a temporary file, fsynced and renamed into place). Between checkpoints the
// data file may be ahead of its sidecar; the owner (the dataserver engine)
// makes that safe by replaying its journal from the last checkpoint, which
// rewrites every block touched since. For the same reason a chunk whose
// sidecar is missing was born after the last checkpoint and is opened empty,
// and a data file longer than its sidecar's size is cut back to that size.
//
// Open files. A Store keeps every loaded Chunk's metadata and checksums in
// memory but bounds the data files it holds open (Options.MaxOpenFiles):
// a data file is opened on first use and the least recently used idle ones
// are closed when there are too many, a file with unsynced writes only
// after an fdatasync (see fdCache). Loading a store's chunks therefore
// reads their sidecars and opens no data file.
//
// Concurrency. A Chunk's ReadAt and CRCs calls may run concurrently with
// each other; WriteAt, WriteTail, Adopt, Truncate, Snapshot (which hashes
// stale blocks) and Close need exclusive access, which the owner's
// per-chunk lock provides. SyncData may run concurrently with anything but
// Close. Opening and closing data files behind the Chunk's
// back is synchronized inside the Store and needs nothing from the owner.
package chunkstore
