package dataserver

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
	"github.com/lis-fs/lis/journal/diskfs"
)

// engine is the dataserver's storage core, independent of RPC: chunk
// states, the journal, the apply queue, checkpoints and leases. Mutations
// are journaled and acknowledged, then applied to chunk files by the
// applier once durable (so a chunk file never holds a mutation that a crash
// could take out of the journal), then checkpointed.
//
// Lock order: chunkState.mu → engine.appendMu → applyQueue.mu; engine.mu
// (the map) is never held while taking a chunk lock. ckptMu is taken by the
// checkpointer for a whole checkpoint and by the applier around a chunk
// deletion, so a checkpoint never snapshots a chunk being removed.
type engine struct {
	cfg   *Config
	log   *slog.Logger
	fs    diskfs.FS // the journal's, chunk store's and checkpoint's
	store *chunkstore.Store
	space *diskSpace
	j     *journal.Log
	m     *metrics

	mu     sync.RWMutex
	chunks map[uint64]*chunkState

	// watch holds the chunks the next census must visit (census.go).
	watch watchSet
	// damaged holds the chunks with bad blocks found (scrub.go).
	damaged damagedSet

	appendMu sync.Mutex
	q        *applyQueue
	applied  atomic.Uint64 // every record <= applied is in the chunk files
	ckptMu   sync.Mutex
	ckptLSN  journal.LSN   // last checkpoint (guarded by ckptMu)
	ckptDone atomic.Uint64 // the same, for readers without ckptMu
	// deletedAt (guarded by mu) is the LSN of each chunk's deletion
	// record until a checkpoint covers it (see deletedAfter).
	deletedAt map[uint64]journal.LSN

	// appending holds the chunks with unjournaled direct appends for the
	// append flusher (see append.go), which appendKick wakes.
	appendingMu sync.Mutex
	appending   map[*chunkState]struct{}
	appendKick  chan struct{}
	// keepTails, during recovery only, is how far each chunk file's tail
	// holds journaled appends (see recover).
	keepTails map[uint64]int64

	logical  atomic.Int64 // sum of chunk sizes (for Capacity)
	applyErr atomic.Pointer[error]
	ckptErr  atomic.Pointer[error] // the last checkpoint's failure, nil once one succeeds
	corrupt  atomic.Uint64
	appends  atomic.Uint64 // direct appends so far

	// afterCheckpoint runs after each successful background checkpoint
	// (the replicator enforces the journal size limit); may be nil.
	afterCheckpoint func()
	// replicaApplied, for tests, sees every replicated mutation this
	// engine accepted, with the chunk's version before it, under the
	// chunk's lock (so in the order the replica's state went through).
	replicaApplied atomic.Pointer[func(m *Mutation, before uint64)]

	stop    context.CancelFunc
	wg      sync.WaitGroup
	streams sync.WaitGroup // replication receivers' apply goroutines
}

// openEngine opens the chunk store and journal in cfg.Dir and replays the
// journal from the last checkpoint. Background loops start with start.
// overLimit receives the journal's OverLimit calls.
func openEngine(cfg *Config, m *metrics, overLimit func(string, int64)) (*engine, error) {
	e := &engine{cfg: cfg, log: cfg.Logger, fs: diskfs.Or(cfg.FS), m: m, chunks: map[uint64]*chunkState{}, q: newApplyQueue(cfg.PendingLimit),
		appending: map[*chunkState]struct{}{}, appendKick: make(chan struct{}, 1), deletedAt: map[uint64]journal.LSN{}}
	store, err := chunkstore.Open(filepath.Join(cfg.Dir, "chunks"), chunkstore.Options{
		OnCorrupt: e.reportCorrupt, MaxOpenFiles: cfg.MaxOpenChunks, FS: cfg.FS,
	})
	if err != nil {
		return nil, err
	}
	e.store = store
	if e.space, err = newDiskSpace(cfg.Dir, cfg.ReserveSpace, time.Now); err != nil {
		return nil, fmt.Errorf("dataserver: %w", err)
	}
	limit := cfg.JournalSizeLimit
	if limit < 0 {
		limit = 0
	}
	e.j, err = journal.Open(journal.Options{
		Dir:          filepath.Join(cfg.Dir, "journal"),
		FS:           cfg.FS,
		SegmentSize:  cfg.JournalSegmentSize,
		SizeLimit:    limit,
		OverLimit:    overLimit,
		SyncInterval: -1, // the applier drives syncs
		// A burst of large writes is on disk by the time its sync comes.
		WritebackBytes: 4 << 20,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("dataserver: %w", err)
	}
	if err := e.recover(); err != nil {
		e.j.Close()
		e.closeFiles()
		return nil, err
	}
	return e, nil
}

// start runs the applier and checkpointer until stopEngine.
func (e *engine) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.wg.Add(3)
	go func() { defer e.wg.Done(); e.applyLoop(ctx) }()
	go func() { defer e.wg.Done(); e.flushLoop(ctx) }()
	go func() { defer e.wg.Done(); e.checkpointLoop(ctx) }()
}

// close stops the loops, applies and checkpoints what is durable, and
// closes the journal and chunk files.
func (e *engine) close() error {
	if e.stop != nil {
		e.stop()
		e.wg.Wait()
	}
	e.streams.Wait()
	e.q.close()
	// Make everything acknowledged durable, apply it, checkpoint it: a
	// clean shutdown leaves nothing to replay.
	err := e.flushAll()
	if err == nil {
		err = e.j.Sync(context.Background(), e.j.LastLSN())
	}
	if err == nil {
		err = e.applyDurable(context.Background())
	}
	if err == nil {
		err = e.checkpoint()
	}
	if cerr := e.j.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("dataserver: close journal: %w", cerr)
	}
	e.closeFiles()
	return err
}

func (e *engine) closeFiles() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, cs := range e.chunks {
		if cs.file != nil {
			cs.file.Close()
			cs.file = nil
		}
	}
}

func (e *engine) reportCorrupt(id uint64, block int64) {
	e.corrupt.Add(1)
	e.m.checksumErrors.Inc()
	e.damaged.add(id, block)
	e.log.Error("checksum mismatch on read", "chunk", fmt.Sprintf("%x", id), "block", block)
}

// lookup returns the state of chunk id, or nil.
func (e *engine) lookup(id uint64) *chunkState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.chunks[id]
}

// getOrCreate returns the state of chunk id, making an empty one.
func (e *engine) getOrCreate(id uint64) *chunkState {
	if cs := e.lookup(id); cs != nil {
		return cs
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.chunks[id]
	if cs == nil {
		cs = &chunkState{id: id}
		e.chunks[id] = cs
	}
	return cs
}

// forget removes cs from the map (after its delete was applied).
func (e *engine) forget(cs *chunkState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.chunks[cs.id] == cs {
		delete(e.chunks, cs.id)
	}
}

// snapshotStates returns the current chunk states.
func (e *engine) snapshotStates() []*chunkState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*chunkState, 0, len(e.chunks))
	for _, cs := range e.chunks {
		out = append(out, cs)
	}
	return out
}

// openFile loads cs's chunk (metadata and checksums) if it is not loaded.
// The data file itself is opened and closed by the store as needed (see
// chunkstore.Options.MaxOpenFiles). Caller holds cs.mu exclusively.
func (e *engine) openFile(cs *chunkState) (*chunkstore.Chunk, error) {
	if cs.file != nil {
		return cs.file, nil
	}
	f, err := e.store.Open(cs.id)
	if err != nil {
		return nil, err
	}
	if keep := e.keepTails[cs.id]; keep > 0 {
		f.KeepTail(keep)
	}
	cs.file = f
	return f, nil
}

// usable returns the sticky apply error (disk full, I/O error), which
// refuses new writes until the applier gets past it.
func (e *engine) usable() error {
	if p := e.applyErr.Load(); p != nil {
		return *p
	}
	return nil
}

// errChunk wraps an errno with the chunk it is about.
func errChunk(id uint64, errno syscall.Errno, format string, args ...any) error {
	return fmt.Errorf("chunk %x: %s: %w", id, fmt.Sprintf(format, args...), errno)
}
