package dataserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/lis-fs/lis/metaservice/registry"
)

// Scrubbing. A dataserver reads back, in the background, every block of
// every chunk it holds, at Config.ScrubRate bytes per second, so that the
// chunk store checks each block's CRC32C and a block gone bad on disk is
// found before a reader (or a replica being rebuilt from this copy) needs
// it. Chunks are read in id order through the engine's own read path
// (under the chunk's lock, pending writes patched in), and the place in
// the pass is kept in ScrubStateFile after every chunk, so a restart
// resumes the pass. A bad block, found by the scrubber or by any reader,
// puts its chunk in the damaged set, which heartbeats carry to the
// registry (lis status) and metrics count. A damaged replica copy is
// repaired by its primary's full-copy check, which the metaservice starts
// (metaservice/repair.go): this copy's checksums of the bad blocks are
// reported spoiled (damagedSet.spoil), so exactly those blocks are sent.

// ScrubStateFile keeps the scrubber's place, in the dataserver's Dir.
const ScrubStateFile = "scrub.state"

// scrubPiece is how much one scrub read covers.
const scrubPiece = 1 << 20

// damagedSet is the chunks found with bad blocks, and which. Its lock is
// a leaf.
type damagedSet struct {
	mu     sync.Mutex
	blocks map[uint64][]int64
}

func (d *damagedSet) add(chunk uint64, block int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocks == nil {
		d.blocks = map[uint64][]int64{}
	}
	if !slices.Contains(d.blocks[chunk], block) {
		d.blocks[chunk] = append(d.blocks[chunk], block)
	}
}

// spoil changes the checksums of chunk's bad blocks in crcs to values
// they cannot have, so that a primary's full-copy check of this copy
// (which compares checksums) sends those blocks again: that is how a
// damaged replica is repaired.
func (d *damagedSet) spoil(chunk uint64, crcs []uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range d.blocks[chunk] {
		if b >= 0 && b < int64(len(crcs)) {
			crcs[b] = ^crcs[b]
		}
	}
}

// forget drops chunk (it was deleted or rewritten whole).
func (d *damagedSet) forget(chunk uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.blocks, chunk)
}

func (d *damagedSet) snapshot() map[uint64][]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[uint64][]int64, len(d.blocks))
	for c, b := range d.blocks {
		out[c] = slices.Clone(b)
	}
	return out
}

// scrubber walks the chunks; it belongs to the Server, which stops it.
type scrubber struct {
	e       *engine
	limiter *rate.Limiter
	path    string
}

// scrub runs passes until ctx ends.
func (sc *scrubber) run(ctx context.Context) {
	after, passes := sc.load()
	for ctx.Err() == nil {
		ids := sc.chunksAfter(after)
		if len(ids) == 0 {
			after, passes = 0, passes+1
			sc.e.m.scrubPasses.Inc()
			sc.save(after, passes)
			if !sleepCtx(ctx, time.Second) { // an empty store is not a busy loop
				return
			}
			continue
		}
		for _, id := range ids {
			if err := sc.chunk(ctx, id); err != nil {
				return // ctx ended
			}
			after = id
			sc.save(after, passes)
		}
	}
}

// chunksAfter returns the ids of the chunks after after, in order.
func (sc *scrubber) chunksAfter(after uint64) []uint64 {
	var ids []uint64
	for _, cs := range sc.e.snapshotStates() {
		if cs.id > after {
			ids = append(ids, cs.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// chunk reads chunk id whole, at the scrub rate; it returns only ctx's
// end: what it finds is reported by the chunk store (reportCorrupt).
func (sc *scrubber) chunk(ctx context.Context, id uint64) error {
	buf := make([]byte, scrubPiece)
	for off := int64(0); ; off += scrubPiece {
		if err := sc.limiter.WaitN(ctx, scrubPiece); err != nil {
			return err
		}
		size, err := sc.e.scrubRead(id, off, buf)
		if err != nil || off+scrubPiece >= size {
			return nil // gone, being copied, or done; a bad block is already reported
		}
	}
}

// scrubRead reads buf from off of chunk id as a reader would, and returns
// the chunk's size.
func (e *engine) scrubRead(id uint64, off int64, buf []byte) (int64, error) {
	cs := e.lookup(id)
	if cs == nil {
		return 0, errChunk(id, syscall.ENOENT, "no such chunk")
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if err := e.readable(cs); err != nil || cs.file == nil || off >= cs.size {
		return 0, err
	}
	n := min(int64(len(buf)), cs.size-off)
	err := cs.file.ReadAt(buf[:n], off)
	e.m.scrubBytes.Add(float64(n))
	return cs.size, err
}

func (sc *scrubber) load() (after uint64, passes uint64) {
	b, err := os.ReadFile(sc.path)
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		after, _ = strconv.ParseUint(f[0], 16, 64)
		passes, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return after, passes
}

// save records the scrubber's place; losing it (no fsync) only means
// scrubbing some chunks again.
func (sc *scrubber) save(after, passes uint64) {
	tmp := sc.path + ".tmp"
	err := os.WriteFile(tmp, []byte(fmt.Sprintf("%x %d\n", after, passes)), 0o644)
	if err == nil {
		err = os.Rename(tmp, sc.path)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		sc.e.log.Warn("scrubber: save its place", "err", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startScrubber starts the scrubber when cfg.ScrubRate is set; the
// returned function stops it and waits for it.
func startScrubber(e *engine, cfg *Config) func() {
	if cfg.ScrubRate <= 0 {
		return func() {}
	}
	sc := &scrubber{e: e, path: filepath.Join(cfg.Dir, ScrubStateFile),
		limiter: rate.NewLimiter(rate.Limit(cfg.ScrubRate), int(max(cfg.ScrubRate, scrubPiece)))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sc.run(ctx) }()
	return func() { cancel(); <-done }
}

// damagedReport describes the damaged chunks for a heartbeat.
func (e *engine) damagedReport() ([]registry.DamagedChunk, int) {
	all := e.damaged.snapshot()
	e.m.damagedChunks.Set(float64(len(all)))
	var out []registry.DamagedChunk
	for id, blocks := range all {
		if len(out) == registry.MaxDangerChunks {
			break
		}
		dc := registry.DamagedChunk{Chunk: id, Blocks: blocks[:min(len(blocks), registry.MaxDangerChunks)]}
		if cs := e.lookup(id); cs != nil {
			cs.mu.RLock()
			dc.Ino, dc.Index = cs.owner.Ino, cs.owner.Index
			cs.mu.RUnlock()
		}
		out = append(out, dc)
	}
	slices.SortFunc(out, func(a, b registry.DamagedChunk) int { return cmp.Compare(a.Chunk, b.Chunk) })
	return out, len(all)
}
