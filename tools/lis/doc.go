// Command lis is the one binary of Lis: every daemon (metaservice,
// dataserver, the FUSE client) and every administrative verb. Each verb
// lives in its own file and registers itself on rootCmd from init.
package main
