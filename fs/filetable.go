package fs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lis-fs/lis/dataserver"

	ms "github.com/lis-fs/lis/metaservice"
)

// fileTable holds the state of every inode this client has open.
type fileTable struct {
	f *FS

	mu    sync.Mutex // guards files and closed; never held across I/O
	files map[ms.Ino]*openFile
	// closed is the newest version of each inode this client knew when it
	// last had it open. An open that finds the same generation keeps the
	// kernel's page cache, any other drops it (close-to-open); an answer
	// of the metaservice older than it is not reported (see attrview.go).
	closed map[ms.Ino]fileVersion
	// lookups counts the kernel's references to each inode (FUSE's
	// nlookup): entries this client returned, less what the kernel forgot.
	// An inode the kernel forgot has no cached pages or attributes left,
	// so closed drops it then; without that, closed would keep an entry
	// for every file this client ever opened.
	lookups map[ms.Ino]uint64
}

func newFileTable(f *FS) *fileTable {
	return &fileTable{f: f, files: map[ms.Ino]*openFile{}, closed: map[ms.Ino]fileVersion{}, lookups: map[ms.Ino]uint64{}}
}

// looked notes that the kernel took a reference to ino (an entry reply).
func (t *fileTable) looked(ino ms.Ino) {
	t.mu.Lock()
	t.lookups[ino]++
	t.mu.Unlock()
}

// forget drops n of the kernel's references to ino; at none, what the
// client kept for the kernel's caches of it goes, unless it is open, and
// gone is true.
func (t *fileTable) forget(ino ms.Ino, n uint64) (gone bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if left := t.lookups[ino]; n < left {
		t.lookups[ino] = left - n
		return false
	}
	delete(t.lookups, ino)
	if t.files[ino] == nil {
		delete(t.closed, ino)
	}
	return true
}

// openFile is the client's state of one open inode, shared by all its
// handles.
//
// Invariants: size is at least the committed size this client last saw
// and covers every acknowledged write; gen is the newest content
// generation the metaservice reported, and size and mtime are that
// version's or newer; pending holds, per chunk index, the highest version
// a write returned that the metaservice has not been told of; dirty is set
// exactly when size, mtime or pending is uncommitted, and committing while
// a commit is on its way to the metaservice.
type openFile struct {
	ino  ms.Ino
	refs int // open handles; guarded by fileTable.mu

	// commitMu makes one commit at a time of this file: commits reach the
	// metaservice in the order their writes were taken, and a truncate's
	// commit waits for one that began before it, so no commit can grow a
	// file back after it was cut. Held across the commit's calls.
	commitMu sync.Mutex

	mu         sync.Mutex // guards the fields below; never held across I/O
	size       uint64
	mtime      int64
	gen        uint64
	pages      uint64 // the generation the kernel's cached pages hold
	dirty      bool
	committing bool
	grew       bool // size changed since the last durable commit
	since      time.Time
	pending    map[uint32]chunkWrite // per chunk index, what to commit
	// unsynced holds, per chunk index, the highest version written since
	// the copies write_ack asks for last held everything (writeack.go).
	unsynced map[uint32]uint64
	chunks   map[uint32]*chunkRef
	// policyDir is the directory whose policy file this is, when an open
	// descriptor may write it, and policyWritten says data was written
	// since its content last went to the metaservice (policyfile.go).
	policyDir     ms.Ino
	policyWritten bool
	// posixLocked says this client took a POSIX lock on the inode, so a
	// close must release the closing owner's locks; most files are never
	// locked, and their closes skip that call.
	posixLocked bool
	// created says this client created the file with this open, and
	// wroteAny that it was written since: what became of it informs the
	// next creates (createhint.go).
	created, wroteAny bool
}

// chunkRef is a chunk the client knows: its id, the version and copies
// its record had when the client looked (a read must see that version or
// a newer one), and, when this client's dataserver holds it, the write
// lease's expiry. id 0 is a known hole.
type chunkRef struct {
	id          uint64
	version     uint64
	primary     string
	replicas    []ms.Replica
	mode        dataserver.ReplMode
	leaseEpoch  uint64
	leaseExpiry int64
}

// names reports whether the chunk's record names dataserver id as a
// holder of a copy.
func (r *chunkRef) names(id string) bool {
	return r.primary == id || slices.ContainsFunc(r.replicas, func(x ms.Replica) bool { return x.Dataserver == id })
}

// open registers an open of the inode with attributes a (fresh from the
// metaservice) and returns the attributes to report and whether the
// kernel may keep its cached pages.
func (t *fileTable) open(a *ms.Attr) (*openFile, *ms.Attr, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	of, ok := t.files[a.Ino]
	if !ok {
		last := t.closed[a.Ino]
		of = &openFile{ino: a.Ino, size: last.size, gen: last.gen, mtime: last.mtime, pages: last.pages,
			pending: map[uint32]chunkWrite{}, chunks: map[uint32]*chunkRef{}}
		t.files[a.Ino] = of
	}
	of.refs++
	of.mu.Lock()
	defer of.mu.Unlock()
	rep := of.observe(a)
	return of, rep, of.keepPages()
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
	t.closed[of.ino] = of.version()
	created, wrote := of.created, of.wroteAny
	of.mu.Unlock()
	delete(t.files, of.ino)
	if created && t.f != nil {
		t.f.createHint.outcome(wrote)
	}
}

// wrote records an acknowledged write ending at end into chunk index.
func (of *openFile) wrote(index uint32, version uint64, blocks uint32, end uint64) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if !of.dirty {
		of.since = time.Now()
	}
	of.dirty, of.wroteAny = true, true
	if end > of.size {
		of.size = end
		of.grew = true
	}
	of.mtime = time.Now().UnixNano()
	of.pending[index] = of.pending[index].newest(chunkWrite{version: version, blocks: blocks})
	if of.unsynced == nil {
		of.unsynced = map[uint32]uint64{}
	}
	of.unsynced[index] = max(of.unsynced[index], version)
	of.policyWritten = of.policyDir != 0
}

// commit tells the metaservice what was written. With durable the commit
// is synced when the file's size changed (the mtime and chunk versions
// alone need not survive a crash for the data to, like fdatasync).
func (t *fileTable) commit(ctx context.Context, of *openFile, durable bool) error {
	of.commitMu.Lock()
	defer of.commitMu.Unlock()
	of.mu.Lock()
	if !of.dirty {
		of.mu.Unlock()
		return nil
	}
	size, mtime, grew := of.size, of.mtime, of.grew
	versions := make([]ms.ChunkVersion, 0, len(of.pending))
	for idx, w := range of.pending {
		versions = append(versions, ms.ChunkVersion{Index: idx, Version: w.version, Dataserver: t.f.data.ID(), Blocks: w.blocks})
	}
	// Until the answer is here, the metaservice may or may not have
	// these writes: committing keeps them in what this client reports.
	of.dirty, of.committing, of.grew, of.pending = false, true, false, map[uint32]chunkWrite{}
	of.mu.Unlock()

	cctx, mark := t.f.marked(ctx)
	a, err := t.f.meta.CommitWrite(cctx, of.ino, size, mtime, versions)
	t.f.coh.cacheAttr(a, err == nil && t.f.coh.stillLong(mark, of.ino))
	if err == nil && durable && grew {
		err = t.f.meta.Sync(ctx)
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	of.committing = false
	if a != nil {
		of.changed(a)
	}
	if err != nil {
		// Put it back so the next flush retries it.
		of.dirty, of.grew = true, of.grew || grew
		for _, v := range versions {
			of.pending[v.Index] = of.pending[v.Index].newest(chunkWrite{version: v.Version, blocks: v.Blocks})
		}
		return fmt.Errorf("commit writes of inode %d: %w", of.ino, err)
	}
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
// new end falls in is cut there on the dataserver; what it then holds goes
// into req for the metaservice.
func (t *fileTable) truncate(ctx context.Context, ino ms.Ino, size uint64, req *ms.SetAttrIn) error {
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
		of = &openFile{ino: ino, chunks: map[uint32]*chunkRef{}, pending: map[uint32]chunkWrite{}}
	}
	return t.f.withLease(ctx, of, idx, func(ref *chunkRef) error {
		_, blocks, err := t.f.data.Truncate(ctx, ref.id, within)
		if err != nil {
			return fmt.Errorf("truncate chunk %x of inode %d: %w", ref.id, ino, err)
		}
		req.TailBlocks, req.TailKnown = blocks, true
		return nil
	})
}

// truncated records a size change this client made, a the metaservice's
// answer.
func (t *fileTable) truncated(a *ms.Attr) {
	t.mu.Lock()
	if last, ok := t.closed[a.Ino]; ok && last.gen < a.Gen {
		t.closed[a.Ino] = fileVersion{gen: a.Gen, size: a.Size, mtime: a.Mtime}
	}
	of := t.files[a.Ino]
	t.mu.Unlock()
	if of == nil {
		return
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	of.size, of.mtime = a.Size, a.Mtime
	of.changed(a)
	for idx := range of.chunks {
		if uint64(idx)*ms.ChunkSize >= a.Size {
			delete(of.chunks, idx)
		}
	}
}

// chunkWrite is a chunk's newest version written through this client and
// how many of its blocks hold data then.
type chunkWrite struct {
	version uint64
	blocks  uint32
}

// newest returns whichever of w and x is the later version.
func (w chunkWrite) newest(x chunkWrite) chunkWrite {
	if x.version >= w.version {
		return x
	}
	return w
}
