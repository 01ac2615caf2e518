package diskfs

import (
	"errors"
	"io"
	"os"
)

// Op is a kind of operation an Injector may fail.
type Op int

const (
	OpOpen Op = iota
	OpRead
	OpWrite
	OpSync // Sync and SyncData
	OpTruncate
	OpAllocate
	OpRemove
	OpRename
	OpLink
	OpMkdir
	OpReadDir
	OpStat
	OpLock
)

var opNames = [...]string{"open", "read", "write", "sync", "truncate", "allocate", "remove", "rename", "link", "mkdir", "readdir", "stat", "lock"}

func (o Op) String() string { return opNames[o] }

// Injector decides, before each operation, whether it fails, and how.
type Injector interface {
	// Inject returns nil to let op on path go ahead, or the error it
	// fails with. A write failed with a TornError writes part of its
	// data first.
	Inject(op Op, path string) error
}

// TornError fails a write after its first half reached the file, the way
// a disk that fills up or loses power in the middle does.
type TornError struct{ Err error }

func (e *TornError) Error() string { return "torn write: " + e.Err.Error() }
func (e *TornError) Unwrap() error { return e.Err }

// Faulty is an FS whose operations an Injector may fail.
type Faulty struct {
	fs  FS
	inj Injector
}

// Wrap returns fs with inj asked before each operation.
func Wrap(fs FS, inj Injector) *Faulty { return &Faulty{fs: fs, inj: inj} }

func (f *Faulty) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := f.inj.Inject(OpOpen, name); err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	file, err := f.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: file, path: name, inj: f.inj}, nil
}

func (f *Faulty) Remove(name string) error {
	return f.do(OpRemove, name, func() error { return f.fs.Remove(name) })
}

// Rename is failed by rules that match newname.
func (f *Faulty) Rename(oldname, newname string) error {
	return f.do(OpRename, newname, func() error { return f.fs.Rename(oldname, newname) })
}

// Link is failed by rules that match newname, as Rename is.
func (f *Faulty) Link(oldname, newname string) error {
	return f.do(OpLink, newname, func() error { return f.fs.Link(oldname, newname) })
}

func (f *Faulty) MkdirAll(dir string, perm os.FileMode) error {
	return f.do(OpMkdir, dir, func() error { return f.fs.MkdirAll(dir, perm) })
}

func (f *Faulty) ReadDir(dir string) ([]os.DirEntry, error) {
	if err := f.inj.Inject(OpReadDir, dir); err != nil {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: err}
	}
	return f.fs.ReadDir(dir)
}

func (f *Faulty) Stat(name string) (os.FileInfo, error) {
	if err := f.inj.Inject(OpStat, name); err != nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	return f.fs.Stat(name)
}

func (f *Faulty) Lock(name string) (io.Closer, error) {
	if err := f.inj.Inject(OpLock, name); err != nil {
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	return f.fs.Lock(name)
}

func (f *Faulty) do(op Op, path string, fn func() error) error {
	if err := f.inj.Inject(op, path); err != nil {
		return &os.PathError{Op: op.String(), Path: path, Err: err}
	}
	return fn()
}

// faultyFile is a File whose operations an Injector may fail.
type faultyFile struct {
	File
	path string
	inj  Injector
}

func (f *faultyFile) fail(op Op) error { return f.failAs(op, op.String()) }

// failAs is fail with the name of the call the error names.
func (f *faultyFile) failAs(op Op, call string) error {
	if err := f.inj.Inject(op, f.path); err != nil {
		return &os.PathError{Op: call, Path: f.path, Err: err}
	}
	return nil
}

func (f *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.failAs(OpRead, "pread"); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	return f.WritevAt([][]byte{p}, off)
}

func (f *faultyFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	err := f.failAs(OpWrite, "pwritev")
	var torn *TornError
	if err == nil || !errors.As(err, &torn) {
		if err != nil {
			return 0, err
		}
		return f.File.WritevAt(bufs, off)
	}
	n, werr := f.File.WritevAt(firstHalf(bufs), off)
	if werr != nil {
		return n, werr
	}
	return n, err
}

// firstHalf returns the first half of the bytes in bufs.
func firstHalf(bufs [][]byte) [][]byte {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	var out [][]byte
	for left := total / 2; left > 0; bufs = bufs[1:] {
		b := bufs[0][:min(len(bufs[0]), left)]
		out, left = append(out, b), left-len(b)
	}
	return out
}

func (f *faultyFile) Truncate(size int64) error {
	if err := f.fail(OpTruncate); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *faultyFile) Sync() error {
	if err := f.failAs(OpSync, "fsync"); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultyFile) SyncData() error {
	if err := f.failAs(OpSync, "fdatasync"); err != nil {
		return err
	}
	return f.File.SyncData()
}

func (f *faultyFile) Allocate(off, n int64) error {
	if err := f.fail(OpAllocate); err != nil {
		return err
	}
	return f.File.Allocate(off, n)
}
