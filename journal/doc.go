// Package journal is the dataserver's write-ahead log: an ordered,
// checksummed, segmented, append-only log of records numbered by LSN. The
// dataserver acknowledges writes once they are appended (and, when the
// client asks for durability, synced), applies them to chunk files, and
// ships them to replicas in LSN order from the same log.
//
// Records live in segment files named after their first LSN. Each record
// carries its length, its LSN, the log's durable LSN at the time it was
// appended, and a CRC32C over all of it. Append writes straight into the
// active segment (page cache, no fsync) under one mutex; Sync is group
// commit: the first waiter to find no fdatasync in flight leads one for
// everything appended so far, and everyone whose records it covered returns
// together. A background goroutine syncs whatever is left every
// SyncInterval, so un-synced data is bounded in time.
//
// Open recovers: every record is checked; the log must be one contiguous run
// of LSNs. At the first bad or missing byte Open decides whether it is a
// torn tail (written but never synced: cut it off) or damage to data already
// acknowledged as durable (refuse, with a *CorruptError naming segment and
// offset). The deciding evidence is the durable LSN stamped in every record:
// an intact record further on that was appended after the damaged LSN became
// durable proves the damaged one had been synced, as does a consumer that had
// acknowledged it. So every record a Sync acknowledged survives a SIGKILL or
// a power cut, and nothing acknowledged is ever silently dropped.
//
// Consumers (one per replication target) read through Cursors that see only
// durable records, and acknowledge what their target has made durable. A
// segment is deleted when every consumer and the owner (Release: e.g. the
// dataserver has applied those records durably to chunk files) are past it.
// Consumer positions and the release point persist in a small state file,
// which is written before any segment is deleted, so a position never
// points at deleted records. When the log grows past SizeLimit it names
// the slowest consumer through OverLimit so the owner can drop it (that
// replica then needs a full resync) instead of blocking writers.
package journal
