package chunkstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Options configure a Store.
type Options struct {
	// OnCorrupt is called (from the reading goroutine) for every block
	// whose checksum did not match on read. May be nil.
	OnCorrupt func(id uint64, block int64)
	// MaxOpenFiles is the soft limit on data files kept open (see
	// fdCache); 0 means DefaultMaxOpenFiles().
	MaxOpenFiles int
	// FS is the file system the chunks are kept through; nil is the
	// real disk (tests pass a diskfs.Faulty).
	FS diskfs.FS
}

// Store is a directory of chunks: DIR/xx/<id>.dat (data) and
// DIR/xx/<id>.meta (sidecar), xx being the id's low byte, so that no
// directory grows past a few thousand entries per million chunks.
//
// Store is safe for concurrent use on distinct chunks; the caller makes
// sure one chunk id is not opened twice at once.
type Store struct {
	dir  string
	fs   diskfs.FS
	opts Options

	dirsMu sync.Mutex
	dirs   map[string]bool // subdirectories known to exist

	fds *fdCache

	// beforeSync, for failure injection and tests, runs in SyncData just
	// before its fdatasync (see SetBeforeSync).
	beforeSync atomic.Pointer[func(id uint64)]
}

// SetBeforeSync makes f run, with the chunk's id, just before every
// fdatasync of a data file (nil: nothing). It is for failure injection
// and tests: f may stall a sync to show what waits for it.
func (s *Store) SetBeforeSync(f func(id uint64)) {
	if f == nil {
		s.beforeSync.Store(nil)
		return
	}
	s.beforeSync.Store(&f)
}

// Open opens (creating if needed) the store rooted at dir.
func Open(dir string, opts Options) (*Store, error) {
	fsys := diskfs.Or(opts.FS)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chunk store %s: %w", dir, err)
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = DefaultMaxOpenFiles()
	}
	return &Store{dir: dir, fs: fsys, opts: opts, dirs: map[string]bool{}, fds: newFDCache(opts.MaxOpenFiles)}, nil
}

func (s *Store) reportCorrupt(id uint64, block int64) {
	if s.opts.OnCorrupt != nil {
		s.opts.OnCorrupt(id, block)
	}
}

func (s *Store) subdir(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%02x", id&0xff))
}

func (s *Store) dataPath(id uint64) string {
	return filepath.Join(s.subdir(id), fmt.Sprintf("%016x.dat", id))
}

func (s *Store) metaPath(id uint64) string {
	return filepath.Join(s.subdir(id), fmt.Sprintf("%016x.meta", id))
}

// List returns the ids of every chunk that has a data or sidecar file, and
// removes temporary files left by an interrupted checkpoint.
func (s *Store) List() ([]uint64, error) {
	subs, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list chunks: %w", err)
	}
	seen := map[uint64]bool{}
	var ids []uint64
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		ents, err := s.fs.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return nil, fmt.Errorf("list chunks: %w", err)
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasSuffix(name, ".tmp") {
				_ = s.fs.Remove(filepath.Join(s.dir, sub.Name(), name))
				continue
			}
			stem, _, _ := strings.Cut(name, ".")
			id, err := strconv.ParseUint(stem, 16, 64)
			if err != nil || seen[id] {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Open loads chunk id (its sidecar), creating an empty one if it does not
// exist. It opens no file: the data file is opened (created if missing) on
// first use, and that first open cuts it back to the sidecar's size. A
// chunk without a sidecar is empty (see the package doc).
func (s *Store) Open(id uint64) (*Chunk, error) {
	if err := s.ensureDir(id); err != nil {
		return nil, err
	}
	side, err := s.readSidecar(id)
	if err != nil {
		return nil, err
	}
	return &Chunk{id: id, store: s, meta: side.Meta, crcs: side.CRCs}, nil
}

// readSidecar loads id's sidecar; a missing one is an empty chunk.
func (s *Store) readSidecar(id uint64) (*sidecar, error) {
	b, err := diskfs.ReadFile(s.fs, s.metaPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return &sidecar{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open chunk %x: %w", id, err)
	}
	side, err := decodeSidecar(b)
	if err != nil {
		return nil, fmt.Errorf("open chunk %x: %s: %w", id, s.metaPath(id), err)
	}
	return side, nil
}

func (s *Store) ensureDir(id uint64) error {
	d := s.subdir(id)
	s.dirsMu.Lock()
	defer s.dirsMu.Unlock()
	if s.dirs[d] {
		return nil
	}
	if err := s.fs.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("chunk %x: %w", id, err)
	}
	if err := s.syncDir(s.dir); err != nil {
		return err
	}
	s.dirs[d] = true
	return nil
}

// Remove closes c (if not nil) and deletes chunk id's files. The sidecar
// goes first, so an interrupted removal leaves a data file without sidecar,
// which reopens empty.
func (s *Store) Remove(id uint64, c *Chunk) error {
	if c != nil {
		if err := c.Close(); err != nil {
			return err
		}
	}
	for _, p := range []string{s.metaPath(id), s.dataPath(id)} {
		if err := s.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove chunk %x: %w", id, err)
		}
	}
	return nil
}

// Checkpoint makes each snapshot durable: the chunk's data file is
// fdatasynced (unless nothing was written to it since its last
// fdatasync), then its sidecar is replaced atomically (temporary file,
// fsync, rename, directory fsync). A chunk whose fdatasync ever failed
// fails every Checkpoint (see Chunk.SyncData). When Checkpoint returns nil, every
// snapshotted chunk reopens with at least the snapshot's metadata and
// checksums, and with data that matches them for every block not written
// after the snapshot was taken.
func (s *Store) Checkpoint(snaps []Snapshot) error {
	dirty := map[string]bool{}
	for _, sn := range snaps {
		if err := sn.chunk.SyncData(); err != nil {
			return err
		}
		if err := s.writeSidecar(sn.chunk.id, &sn.side); err != nil {
			return err
		}
		dirty[s.subdir(sn.chunk.id)] = true
	}
	for d := range dirty {
		if err := s.syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) writeSidecar(id uint64, side *sidecar) error {
	b, err := encodeSidecar(side)
	if err != nil {
		return err
	}
	final := s.metaPath(id)
	tmp := final + ".tmp"
	f, err := s.fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("chunk %x: write sidecar: %w", id, err)
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, final)
	}
	if err != nil {
		_ = s.fs.Remove(tmp)
		return fmt.Errorf("chunk %x: write sidecar: %w", id, err)
	}
	return nil
}

func (s *Store) syncDir(dir string) error {
	if err := diskfs.SyncDir(s.fs, dir); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Modified is when chunk id's files last changed (the zero time if it
// has none).
func (s *Store) Modified(id uint64) (time.Time, error) {
	var latest time.Time
	for _, p := range []string{s.dataPath(id), s.metaPath(id)} {
		fi, err := s.fs.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return time.Time{}, fmt.Errorf("chunk %x: %w", id, err)
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	return latest, nil
}
