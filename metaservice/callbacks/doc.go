// Package callbacks keeps the metaservice's promises to client caches, as
// AFS's callbacks and CephFS's capabilities do: which client sessions hold
// which inodes, and the invalidations queued for each session until it
// takes them.
//
// A session holds an inode once the metaservice has answered it with the
// inode's attributes (a lookup, a stat, a listing with attributes, a
// create): from then on the session may cache the attributes, and, for a
// directory, its entries (names present and absent) and its listing.
// Whenever a transaction changes what a holder may have cached, an Event
// is queued for every session that holds the inode — an inode's
// attributes, or one entry of a directory — except the session that made
// the change, which knows it already.
//
// Holds are counted, as FUSE counts lookups: each answer that holds an
// inode adds one, and a session releases what it counted once its kernel
// forgot the inode. The counts commute, so a release that crosses a new
// lookup in flight never drops the hold the lookup took.
//
// A session that does not take its events stops being promised anything
// precise: past Options.MaxQueue queued events, or when the table does not
// know it (the metaservice restarted), its next Await answers Reset, every
// hold of the session is dropped, and the session must drop everything it
// cached before holding again.
//
// The table is in memory and transport-free; metaservice.Service feeds it
// from each committed transaction's writes, and the RPC server carries
// Await as a long poll.
package callbacks
