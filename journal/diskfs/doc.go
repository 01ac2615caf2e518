// Package diskfs is the one seam through which the journal and the chunk
// store do their file I/O, so that tests can make a disk fail the way
// disks fail: an fsync that returns EIO (after which the page cache may
// have dropped the data), a read that returns EIO, a write that hits
// ENOSPC or is torn halfway.
//
// FS and File carry exactly the operations those packages need, including
// the Linux-specific ones (pwritev, fdatasync, fallocate, sync_file_range)
// that pebble's vfs.File does not have. OS is the real disk. Faulty wraps
// any FS and asks an Injector, before each operation, whether to fail it;
// Rule is the injector tests usually want (an operation on paths with a
// given suffix, failing from its Nth occurrence on, once or for good).
package diskfs
