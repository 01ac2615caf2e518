// Package fs is the FUSE client of Lis: it bridges go-fuse's raw API
// (fuse.RawFileSystem) to the metaservice (namespace, attributes, locks,
// chunk records) and to the co-located dataserver (chunk data).
//
// Inode numbers are the metaservice's, stable for the life of the inode.
// Per inode the kernel holds, the client keeps its holds with the
// metaservice (coherence.go), given back at FORGET; per open inode, the
// chunk table and the write state (which chunks were written, to which
// versions, and how far the file grew). Writes go to the
// local dataserver and return at its acknowledgement; size, mtime and
// chunk versions are committed to the metaservice at flush, fsync and
// release and every CommitInterval while a file is being written, never
// per write. fsync returns once the dataserver has synced the journal and
// the metaservice has the file's metadata durable.
//
// Metadata cache (coherence.go, invalidate.go, metacache.go): the
// metaservice tells this session of every change to what it holds, so
// the kernel caches names, absent names, attributes and listings for
// CacheTimeout, and the client keeps its own LRU of attributes and names
// that answers once the kernel evicted them; while that stream of
// invalidations is lost, the kernel caches for EntryTimeout/AttrTimeout
// only. Open always fetches fresh attributes from the metaservice
// (close-to-open): a client that opens a file after another
// closed it sees the new size and content, because the page cache is only
// kept when the content generation did not change. The kernel's writeback
// cache makes the kernel trust its own idea of a file's size, which breaks
// close-to-open across clients, so it is off unless a mount asks for it.
//
// Attributes (attrview.go): the size and mtime reported for a file never
// go backwards while this client has writes the metaservice may not have,
// nor after it saw a newer answer; the kernel's page cache is kept at an
// open only when it holds the generation the open finds.
//
// Across sites: the metaservice installs write leases on the co-located
// dataserver (and moves them here, once this dataserver has caught up,
// when another holds them); a read is served by the co-located
// dataserver when its copy is at least the version the chunk record
// names, else by the nearest copy that is (remote.go). fsync waits for the
// copies the policy's write_ack asks for (writeack.go), and a written
// .lis-policy.yaml becomes its directory's policy (policyfile.go).
//
// errno.go is the one place internal errors become FUSE statuses; no
// operation returns a Go error string to the kernel.
package fs
