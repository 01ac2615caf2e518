package diskfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// OS is the real disk.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Remove(name string) error                    { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error        { return os.Rename(oldname, newname) }
func (osFS) Link(oldname, newname string) error          { return os.Link(oldname, newname) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }
func (osFS) ReadDir(dir string) ([]os.DirEntry, error)   { return os.ReadDir(dir) }
func (osFS) Stat(name string) (os.FileInfo, error)       { return os.Stat(name) }

func (osFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is locked by another process: %w", name, err)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return f, nil
}

// osFile is an *os.File with the Linux calls File adds.
type osFile struct{ *os.File }

func (f osFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	const iovMax = 1024
	fd, total := int(f.Fd()), 0
	bufs = advance(slices.Clone(bufs), 0) // advanced below; the caller's stays as it was
	for len(bufs) > 0 {
		n, err := unix.Pwritev(fd, bufs[:min(len(bufs), iovMax)], off)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return total, &os.PathError{Op: "pwritev", Path: f.Name(), Err: err}
		case n == 0:
			return total, io.ErrShortWrite
		}
		total, off = total+n, off+int64(n)
		bufs = advance(bufs, n)
	}
	return total, nil
}

// advance drops n written bytes from the front of bufs, and the empty
// buffers there (a pwritev of nothing but empty ones would write 0 bytes,
// which is taken for a short write).
func advance(bufs [][]byte, n int) [][]byte {
	for n > 0 {
		if n < len(bufs[0]) {
			bufs[0] = bufs[0][n:]
			break
		}
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	for len(bufs) > 0 && len(bufs[0]) == 0 {
		bufs = bufs[1:]
	}
	return bufs
}

func (f osFile) SyncData() error {
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	return nil
}

func (f osFile) Allocate(off, n int64) error {
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, off, n); err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}

// StartWriteback holds the descriptor open for the call (Control), so a
// concurrent Close cannot hand its number to another file meanwhile.
func (f osFile) StartWriteback(off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// Sync is fsync, named so in its errors.
func (f osFile) Sync() error {
	if err := f.File.Sync(); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return &os.PathError{Op: "fsync", Path: f.Name(), Err: pe.Err}
		}
		return err
	}
	return nil
}
