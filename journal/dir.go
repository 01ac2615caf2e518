package journal

import (
	"path/filepath"

	"github.com/lis-fs/lis/journal/diskfs"
)

// logDir is the log's directory and the file system it is reached
// through: every file operation of the journal goes through fs, so tests
// can fail any of them (diskfs.Faulty).
type logDir struct {
	fs   diskfs.FS
	path string
}

func (d logDir) join(name string) string { return filepath.Join(d.path, name) }

// sync makes creations, renames and removals in the directory durable.
func (d logDir) sync() error { return diskfs.SyncDir(d.fs, d.path) }
