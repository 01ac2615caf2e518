package diskfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// File is an open file.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// WritevAt writes bufs, in order, at off (pwritev); it returns the
	// bytes written, which are fewer than asked only with an error.
	WritevAt(bufs [][]byte, off int64) (int, error)
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	// Sync is fsync; SyncData is fdatasync. After either fails, what the
	// file held since its last successful sync is unknown.
	Sync() error
	SyncData() error
	// Allocate reserves n bytes at off without changing the file's size
	// (fallocate with FALLOC_FL_KEEP_SIZE).
	Allocate(off, n int64) error
	// StartWriteback asks the kernel to start writing [off, off+n) back
	// (sync_file_range WRITE): a hint, with no durability promise.
	StartWriteback(off, n int64)
	Name() string
}

// FS opens files and changes directories.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	Rename(oldname, newname string) error
	Link(oldname, newname string) error
	MkdirAll(dir string, perm os.FileMode) error
	ReadDir(dir string) ([]os.DirEntry, error)
	Stat(name string) (os.FileInfo, error)
	// Lock takes an exclusive lock on name (created if need be) that
	// lasts until the Closer is closed or the process ends; it fails at
	// once when another holder has it.
	Lock(name string) (io.Closer, error)
}

// Or returns fs, or OS when fs is nil.
func Or(fs FS) FS {
	if fs == nil {
		return OS
	}
	return fs
}

// ReadFile reads the whole of name.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := fs.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return b[:n], err
}

// WriteFileAtomic replaces name with data: written to a temporary file,
// fdatasynced, renamed over name, and the directory synced. After a crash
// name holds the old content or the new, never a mix.
func WriteFileAtomic(fs FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.SyncData()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, name)
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	return SyncDir(fs, filepath.Dir(name))
}

// SyncDir fsyncs a directory, making the entries created, renamed or
// removed in it durable.
func SyncDir(fs FS, dir string) error {
	d, err := fs.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
