// Package volume assembles a mounted Lis volume, the same way for `lis
// mount`, the test suites and the benchmark harness.
//
// The embedded volume is the one-machine default: the metaservice core on
// the embedded KV engine and a dataserver, both in the mounting process
// under one data directory, with the FUSE client calling the metaservice
// in process. The metaservice is also served on DataDir/meta.sock, so `lis
// fsck`, `lis shard` and further clients (`lis mount --meta`) can reach
// it while it is mounted; the dataserver serves DataDir/data.sock. The
// data directory's lock makes a second mount of the same volume fail.
//
// A cluster client joins existing daemons over RPC (Join).
package volume
