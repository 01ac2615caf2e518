package chunkstore

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lis-fs/lis/journal/diskfs"
)

// fdCache bounds the data files a Store keeps open. A Chunk's metadata and
// checksums stay in memory for as long as the Chunk lives; only its data
// file descriptor comes and goes.
//
// Every Chunk operation that touches the data file pins the descriptor
// (acquire … release), and only unpinned descriptors are closed, so a
// descriptor is never closed under a reader, a writer or a checkpoint's
// fdatasync. Unpinned open descriptors sit on one of two LRU lists: clean
// (every write through the file has been fdatasynced) and unsynced. When
// more than limit descriptors are open, the least recently used clean one
// is closed; when only unsynced ones are left, the least recently used one
// is fdatasynced first. Closing a file with unsynced writes would be legal
// (a later fdatasync on a new descriptor flushes the same page cache) but
// a writeback error in between could then go unreported, and a checkpoint
// would release journal records whose data never reached the disk.
//
// The limit is soft: pinned descriptors are never closed, so more than
// limit concurrent users keep more open, and the excess is closed as they
// release.
//
// Invariants (under mu):
//   - open counts the Chunks whose f is set or being opened, minus those
//     chosen to be closed (their close may still be under way).
//   - a Chunk is on a list iff f != nil, pins == 0, !busy and !closed; it
//     is on unsynced iff c.unsynced.
//   - while c.busy, the goroutine that set it owns c.f (opening or
//     closing it, outside mu); everyone else waits on cond.
type fdCache struct {
	mu    sync.Mutex
	cond  *sync.Cond // broadcast whenever a Chunk stops being busy
	limit int

	open            int
	clean, unsynced fdList

	opens, evictions, evictionSyncs uint64
}

func newFDCache(limit int) *fdCache {
	fc := &fdCache{limit: limit}
	fc.cond = sync.NewCond(&fc.mu)
	return fc
}

// FileStats describes a Store's open data files.
type FileStats struct {
	Open      int    // data files open now (or being opened)
	Limit     int    // the soft limit on Open
	Unsynced  int    // open, idle, and holding writes not yet fdatasynced
	Opens     uint64 // data file opens so far, first opens and reopens
	Evictions uint64 // data files closed to stay under the limit
	// EvictionSyncs counts evictions that had to fdatasync the file first
	// (no clean file was idle); checkpoints keep this near zero.
	EvictionSyncs uint64
}

// FileStats returns the current open-file figures.
func (s *Store) FileStats() FileStats {
	fc := s.fds
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return FileStats{Open: fc.open, Limit: fc.limit, Unsynced: fc.unsynced.n,
		Opens: fc.opens, Evictions: fc.evictions, EvictionSyncs: fc.evictionSyncs}
}

// acquire returns c's data file, opening it if needed, pinned until the
// matching release.
func (c *Chunk) acquire() (diskfs.File, error) {
	fc := c.store.fds
	fc.mu.Lock()
	for c.busy {
		fc.cond.Wait()
	}
	if c.closed {
		fc.mu.Unlock()
		return nil, fmt.Errorf("chunk %x: %w", c.id, os.ErrClosed)
	}
	if c.f != nil {
		c.unlist()
		c.pins++
		fc.mu.Unlock()
		return c.f, nil
	}
	c.busy = true
	fc.open++
	fc.opens++
	victims := fc.victimsLocked()
	fc.mu.Unlock()

	fc.closeVictims(victims)
	f, err := c.openData()

	fc.mu.Lock()
	defer fc.mu.Unlock()
	c.busy = false
	fc.cond.Broadcast()
	if err != nil {
		fc.open--
		return nil, err
	}
	c.f, c.pins = f, 1
	return f, nil
}

// openData opens the data file; the first open of a Chunk also cuts the
// file back to the sidecar's size (see the package doc). Called by the
// goroutine that made c busy.
func (c *Chunk) openData() (diskfs.File, error) {
	f, err := c.store.fs.OpenFile(c.store.dataPath(c.id), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// A new data file: its directory entry is synced with its data
		// (syncData), so a synced write cannot lose the whole file.
		f, err = c.store.fs.OpenFile(c.store.dataPath(c.id), os.O_RDWR|os.O_CREATE, 0o644)
		if err == nil {
			c.store.fds.mu.Lock()
			c.newFile = true
			c.store.fds.mu.Unlock()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open chunk %x: %w", c.id, err)
	}
	if !c.trimmed {
		// No sync needed: a lost trim is redone at the next open, and
		// any write past the old end that depends on it marks the file
		// unsynced, so the fdatasync that makes the write durable makes
		// the new size durable too.
		if err := trimData(c.id, f, max(c.meta.Size, c.keep)); err != nil {
			f.Close()
			return nil, err
		}
		c.trimmed = true
	}
	return f, nil
}

// trimData cuts the data file back to size.
func trimData(id uint64, f diskfs.File, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open chunk %x: %w", id, err)
	}
	if st.Size() > size {
		if err := f.Truncate(size); err != nil {
			return fmt.Errorf("open chunk %x: trim to %d: %w", id, size, err)
		}
	}
	return nil
}

// release unpins c's data file; wrote says the caller changed the file
// (its writes now need an fdatasync). The file goes to the front of its
// LRU list, and if too many files are open the least recently used idle
// ones are closed before release returns.
func (c *Chunk) release(wrote bool) {
	fc := c.store.fds
	fc.mu.Lock()
	if wrote {
		c.unsynced = true
	}
	c.pins--
	if c.pins > 0 {
		fc.mu.Unlock()
		return
	}
	if c.closed {
		// Close came while the file was pinned and left closing it to us.
		f := c.f
		c.f = nil
		fc.open--
		fc.mu.Unlock()
		f.Close()
		return
	}
	fc.listOf(c).pushFront(c)
	victims := fc.victimsLocked()
	fc.mu.Unlock()
	fc.closeVictims(victims)
}

// victim is an idle data file chosen to be closed.
type victim struct {
	c    *Chunk
	sync bool
}

// victimsLocked takes idle files off the lists, least recently used clean
// ones first, until at most limit stay open, and marks them busy. The
// caller closes them with closeVictims after releasing mu.
func (fc *fdCache) victimsLocked() []victim {
	var out []victim
	for fc.open > fc.limit {
		c := fc.clean.back()
		if c == nil {
			c = fc.unsynced.back()
		}
		if c == nil {
			break // every open file is in use: the limit is soft
		}
		c.unlist()
		c.busy = true
		fc.open--
		out = append(out, victim{c: c, sync: c.unsynced})
	}
	return out
}

// closeVictims closes the chosen files, fdatasyncing those with unsynced
// writes first. A failed fdatasync is kept in the Chunk (see syncErr): the
// file's data cannot be trusted to be on disk, and a later fdatasync on a
// new descriptor would not report the error again.
func (fc *fdCache) closeVictims(vs []victim) {
	for _, v := range vs {
		c := v.c
		var err error
		if v.sync {
			if err = c.f.SyncData(); err != nil {
				err = fmt.Errorf("chunk %x: before close: %w", c.id, err)
			}
		}
		if cerr := c.f.Close(); err == nil && cerr != nil && v.sync {
			err = fmt.Errorf("chunk %x: close: %w", c.id, cerr)
		}
		fc.mu.Lock()
		if err != nil && c.syncErr == nil {
			c.syncErr = err
		}
		if v.sync && err == nil {
			c.unsynced = false
		}
		c.f, c.busy = nil, false
		fc.evictions++
		if v.sync {
			fc.evictionSyncs++
		}
		fc.cond.Broadcast()
		fc.mu.Unlock()
	}
}

// closeChunk closes c's data file for good (Chunk.Close). Unsynced writes
// are not synced: checkpoints do that, and a removed chunk needs nothing.
// If the file is pinned (a caller broke the Close contract) the last
// release closes it.
func (c *Chunk) closeChunk() error {
	fc := c.store.fds
	fc.mu.Lock()
	for c.busy {
		fc.cond.Wait()
	}
	c.closed = true
	if c.f == nil || c.pins > 0 {
		fc.mu.Unlock()
		return nil
	}
	c.unlist()
	f := c.f
	c.f = nil
	fc.open--
	fc.mu.Unlock()
	if err := f.Close(); err != nil {
		return fmt.Errorf("chunk %x: close: %w", c.id, err)
	}
	return nil
}

// syncData is Chunk.SyncData: an fdatasync if anything was written since
// the last one (a clean file is not even reopened), and a sync of the
// directory when the file is new. Callers are serialized (syncMu): one
// that finds an fdatasync in flight waits for it instead of taking the
// cleared flag for done.
func (c *Chunk) syncData() error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	fc := c.store.fds
	fc.mu.Lock()
	err, need, newFile := c.syncErr, c.unsynced, c.newFile
	fc.mu.Unlock()
	if err == nil && !need && newFile {
		return c.syncNewEntry()
	}
	if err != nil || !need {
		return err
	}
	f, err := c.acquire()
	if err != nil {
		return err
	}
	// Cleared before the fdatasync, so that a write finishing during it
	// (SyncData may run concurrently with writes) marks the file again.
	fc.mu.Lock()
	c.unsynced = false
	fc.mu.Unlock()
	if h := c.store.beforeSync.Load(); h != nil {
		(*h)(c.id)
	}
	err = f.SyncData()
	if err != nil {
		err = fmt.Errorf("chunk %x: %w", c.id, err)
		fc.mu.Lock()
		c.unsynced = true
		if c.syncErr == nil {
			c.syncErr = err
		}
		fc.mu.Unlock()
	}
	c.release(false)
	if err == nil && newFile {
		err = c.syncNewEntry()
	}
	return err
}

// syncNewEntry makes a new data file's directory entry durable.
func (c *Chunk) syncNewEntry() error {
	if err := c.store.syncDir(c.store.subdir(c.id)); err != nil {
		return fmt.Errorf("chunk %x: sync directory: %w", c.id, err)
	}
	c.store.fds.mu.Lock()
	c.newFile = false
	c.store.fds.mu.Unlock()
	return nil
}

func (fc *fdCache) listOf(c *Chunk) *fdList {
	if c.unsynced {
		return &fc.unsynced
	}
	return &fc.clean
}

// fdList is an intrusive doubly linked LRU list of Chunks (front = most
// recently used). Guarded by fdCache.mu.
type fdList struct {
	head, tail *Chunk
	n          int
}

func (l *fdList) pushFront(c *Chunk) {
	c.lprev, c.lnext, c.onList = nil, l.head, l
	if l.head != nil {
		l.head.lprev = c
	} else {
		l.tail = c
	}
	l.head = c
	l.n++
}

// unlist takes c off whichever list holds it, if any.
func (c *Chunk) unlist() {
	if c.onList != nil {
		c.onList.remove(c)
	}
}

func (l *fdList) remove(c *Chunk) {
	if c.lprev != nil {
		c.lprev.lnext = c.lnext
	} else {
		l.head = c.lnext
	}
	if c.lnext != nil {
		c.lnext.lprev = c.lprev
	} else {
		l.tail = c.lprev
	}
	c.lprev, c.lnext, c.onList = nil, nil, nil
	l.n--
}

func (l *fdList) back() *Chunk { return l.tail }

// DefaultMaxOpenFiles is the default soft limit on open data files: a
// quarter of the process's RLIMIT_NOFILE (the rest is for the journal,
// sockets, and whatever else shares the process, e.g. the embedded
// metadata store), between 16 and 4096.
func DefaultMaxOpenFiles() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 4096
	}
	return int(min(max(rl.Cur/4, 16), 4096))
}
