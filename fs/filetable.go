package fs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// fileTable holds the state of every inode this client has open.
type fileTable struct {
	f *FS

	mu    sync.Mutex // guards files and gens; never held across I/O
	files map[ms.Ino]*openFile
	// gens is the content generation each inode had when this client last
	// had it open: an open that finds the same generation keeps the
	// kernel's page cache, any other drops it (close-to-open).
	gens map[ms.Ino]uint64
}

func newFileTable(f *FS) *fileTable {
	return &fileTable{f: f, files: map[ms.Ino]*openFile{}, gens: map[ms.Ino]uint64{}}
}

// openFile is the client's state of one open inode, shared by all its
// handles.
//
// Invariants: size is at least the committed size this client last saw
// and covers every acknowledged write; pending holds, per chunk index, the
// highest version a write returned that the metaservice has not been told
// of; dirty is set exactly when size, mtime or pending is uncommitted.
type openFile struct {
	ino  ms.Ino
	refs int // open handles; guarded by fileTable.mu

	mu      sync.Mutex // guards the fields below; never held across I/O
	size    uint64
	mtime   int64
	gen     uint64
	dirty   bool
	grew    bool // size changed since the last durable commit
	since   time.Time
	pending map[uint32]uint64
	chunks  map[uint32]*chunkRef
	// posixLocked says this client took a POSIX lock on the inode, so a
	// close must release the closing owner's locks; most files are never
	// locked, and their closes skip that call.
	posixLocked bool
}

// chunkRef is a chunk the client knows: its id and, when this client's
// dataserver holds it, the write lease's expiry. id 0 is a known hole.
type chunkRef struct {
	id          uint64
	leaseEpoch  uint64
	leaseExpiry int64
}

// open registers an open of the inode with attributes a (fresh from the
// metaservice) and says whether the kernel may keep its cached pages.
func (t *fileTable) open(a *ms.Attr) (*openFile, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keep := t.gens[a.Ino] == a.Gen && a.Gen != 0
	of, ok := t.files[a.Ino]
	if !ok {
		of = &openFile{ino: a.Ino, size: a.Size, gen: a.Gen, mtime: a.Mtime,
			pending: map[uint32]uint64{}, chunks: map[uint32]*chunkRef{}}
		t.files[a.Ino] = of
	}
	of.refs++
	of.refresh(a)
	return of, keep
}

// refresh takes fresh attributes: another client may have written the file
// since this one looked, so known chunks are forgotten when the content
// generation moved on.
func (of *openFile) refresh(a *ms.Attr) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if a.Gen != of.gen && !of.dirty {
		of.size = a.Size
		clear(of.chunks)
	}
	of.size = max(of.size, a.Size)
	of.gen = max(of.gen, a.Gen)
}

func (t *fileTable) get(ino ms.Ino) *openFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.files[ino]
}

// release drops one handle; the state goes with the last.
func (t *fileTable) release(of *openFile) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if of.refs--; of.refs > 0 {
		return
	}
	of.mu.Lock()
	t.gens[of.ino] = of.gen
	of.mu.Unlock()
	delete(t.files, of.ino)
}

// dirty reports whether the inode has uncommitted writes here.
func (t *fileTable) dirty(ino ms.Ino) bool {
	of := t.get(ino)
	if of == nil {
		return false
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	return of.dirty
}

// overlay returns a with this client's uncommitted size and mtime, which
// are newer than what the metaservice has.
func (t *fileTable) overlay(a *ms.Attr) *ms.Attr {
	of := t.get(a.Ino)
	if of == nil {
		return a
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	if !of.dirty {
		return a
	}
	c := *a
	c.Size = max(c.Size, of.size)
	c.Mtime = max(c.Mtime, of.mtime)
	return &c
}

// wrote records an acknowledged write ending at end into chunk index.
func (of *openFile) wrote(index uint32, version uint64, end uint64) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if !of.dirty {
		of.since = time.Now()
	}
	of.dirty = true
	if end > of.size {
		of.size = end
		of.grew = true
	}
	of.mtime = time.Now().UnixNano()
	of.pending[index] = max(of.pending[index], version)
}

// commit tells the metaservice what was written. With durable the commit
// is synced when the file's size changed (the mtime and chunk versions
// alone need not survive a crash for the data to, like fdatasync).
func (t *fileTable) commit(ctx context.Context, of *openFile, durable bool) error {
	of.mu.Lock()
	if !of.dirty {
		of.mu.Unlock()
		return nil
	}
	size, mtime, grew := of.size, of.mtime, of.grew
	versions := make([]ms.ChunkVersion, 0, len(of.pending))
	for idx, v := range of.pending {
		versions = append(versions, ms.ChunkVersion{Index: idx, Version: v, Dataserver: t.f.data.ID()})
	}
	of.dirty, of.grew, of.pending = false, false, map[uint32]uint64{}
	of.mu.Unlock()

	a, err := t.f.meta.CommitWrite(ctx, of.ino, size, mtime, versions)
	if err == nil && durable && grew {
		err = t.f.meta.Sync(ctx)
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	if err != nil {
		// Put it back so the next flush retries it.
		of.dirty, of.grew = true, of.grew || grew
		for _, v := range versions {
			of.pending[v.Index] = max(of.pending[v.Index], v.Version)
		}
		return fmt.Errorf("commit writes of inode %d: %w", of.ino, err)
	}
	of.gen = max(of.gen, a.Gen)
	return nil
}

func (t *fileTable) snapshot() []*openFile {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*openFile, 0, len(t.files))
	for _, of := range t.files {
		out = append(out, of)
	}
	return out
}

// commitDue commits files whose oldest uncommitted write is older than
// the commit interval.
func (t *fileTable) commitDue(ctx context.Context) error {
	var errs []error
	for _, of := range t.snapshot() {
		of.mu.Lock()
		due := of.dirty && time.Since(of.since) >= t.f.opts.CommitInterval
		of.mu.Unlock()
		if due {
			errs = append(errs, t.commit(ctx, of, false))
		}
	}
	return errors.Join(errs...)
}

// commitAll commits every written file.
func (t *fileTable) commitAll(ctx context.Context, durable bool) error {
	var errs []error
	for _, of := range t.snapshot() {
		errs = append(errs, t.commit(ctx, of, durable))
	}
	return errors.Join(errs...)
}

// truncate prepares a size change of ino: pending writes are committed
// first (a later commit must not grow the file back), and the chunk the
// new end falls in is cut there on the dataserver.
func (t *fileTable) truncate(ctx context.Context, ino ms.Ino, size uint64) error {
	of := t.get(ino)
	if of != nil {
		if err := t.commit(ctx, of, false); err != nil {
			return err
		}
	}
	within := int64(size % ms.ChunkSize)
	if within == 0 {
		return nil
	}
	idx := uint32(size / ms.ChunkSize)
	recs, err := t.f.meta.Chunks(ctx, ino, idx, idx+1)
	if err != nil || len(recs) == 0 {
		return err
	}
	if of == nil {
		of = &openFile{ino: ino, chunks: map[uint32]*chunkRef{}, pending: map[uint32]uint64{}}
	}
	ref, err := t.f.writable(ctx, of, idx)
	if err != nil {
		return err
	}
	if _, err := t.f.data.Truncate(ctx, ref.id, within); err != nil {
		return fmt.Errorf("truncate chunk %x of inode %d: %w", ref.id, ino, err)
	}
	return nil
}

// truncated records a committed size change.
func (t *fileTable) truncated(ino ms.Ino, size uint64) {
	if of := t.get(ino); of != nil {
		of.mu.Lock()
		of.size = size
		for idx := range of.chunks {
			if uint64(idx)*ms.ChunkSize >= size {
				delete(of.chunks, idx)
			}
		}
		of.mu.Unlock()
	}
}
