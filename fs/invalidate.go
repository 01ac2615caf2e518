package fs

import (
	"context"
	"log/slog"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// pollGrace is how much longer than the metaservice's wait a poll may
// take before the stream counts as lost: a partition is noticed within
// InvalidationPoll plus this.
const pollGrace = 3 * time.Second

// kernelNote is one invalidation to pass to the kernel.
type kernelNote struct {
	ino   ms.Ino
	name  string
	entry bool // the name in directory ino; else ino's attributes
	pages bool // a directory's cached listing too
}

// invalidations is the session's stream of invalidations: a long poll
// of the metaservice, run until Close. Each event is passed on to the
// kernel; a lost stream drops from the kernel everything cached long.
func (f *FS) invalidations(ctx context.Context) {
	defer f.wg.Done()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
		if err := f.pollInvalidations(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.streamLost(err)
			backoff = min(max(2*backoff, 100*time.Millisecond), f.opts.InvalidationPoll)
			continue
		}
		backoff = 0
	}
}

// pollInvalidations makes one poll and applies its answer.
func (f *FS) pollInvalidations(ctx context.Context) error {
	c := f.coh
	c.mu.Lock()
	epoch, seq := c.epoch, c.seq
	c.mu.Unlock()
	session := f.session.Load()
	release := c.takeReleases(rpc.MaxReleases)
	pctx, cancel := context.WithTimeout(ctx, f.opts.InvalidationPoll+pollGrace)
	defer cancel()
	b, err := f.meta.AwaitInvalidations(pctx, session, epoch, seq, release, f.opts.InvalidationPoll)
	if err != nil {
		return err
	}
	if session != f.session.Load() {
		return nil // the session was replaced meanwhile; heartbeat reset
	}
	if b.Reset {
		f.resetCache(b)
	} else {
		f.applyEvents(b)
	}
	f.streamUp()
	return nil
}

// applyEvents passes a batch's events on to the kernel.
func (f *FS) applyEvents(b callbacks.Batch) {
	c := f.coh
	notes := make([]kernelNote, 0, len(b.Events)+1)
	c.mu.Lock()
	for _, ev := range b.Events {
		ino := ms.Ino(ev.Ino)
		c.recent.note(ino, 0)
		switch {
		case !ev.Entry:
			notes = append(notes, kernelNote{ino: ino})
			f.dirOpens.changed(ino)
			c.cache.dropAttr(ino)
			c.maybeRelease(ino)
		case ev.Name == "":
			for _, n := range c.dropEntries(ino) {
				notes = append(notes, kernelNote{ino: ino, name: n, entry: true})
			}
			notes = append(notes, kernelNote{ino: ino, pages: true})
			c.cache.dropDir(ino)
		default:
			c.dropEntry(ino, ev.Name)
			notes = append(notes, kernelNote{ino: ino, name: ev.Name, entry: true}, kernelNote{ino: ino, pages: true})
			c.cache.forgetName(ino, ev.Name)
		}
	}
	c.epoch, c.seq = b.Epoch, b.Seq
	c.mu.Unlock()
	f.metrics.invalidations.Add(uint64(len(b.Events)))
	f.notify(notes)
}

// resetCache drops every hold and everything cached long: the
// metaservice lost this session's holds (it restarted, or events were
// dropped), or the session changed.
func (f *FS) resetCache(b callbacks.Batch) {
	c := f.coh
	c.calls.Lock()
	c.mu.Lock()
	notes := c.everythingLong()
	c.cache.clear()
	c.holds = map[ms.Ino]holdState{}
	c.release = nil
	c.resets++
	c.epoch, c.seq = b.Epoch, b.Seq
	c.recent.forgetAll() // answers in flight were read before
	c.mu.Unlock()
	c.calls.Unlock()
	f.metrics.cacheResets.Add(1)
	f.dirOpens.allChanged()
	f.notify(notes)
}

// everythingLong is what the kernel may cache long: every held inode's
// attributes and every name remembered. It forgets the names. Called
// with mu held.
func (c *coherence) everythingLong() []kernelNote {
	notes := make([]kernelNote, 0, len(c.holds)+c.nEntries)
	for ino := range c.holds {
		notes = append(notes, kernelNote{ino: ino, pages: true})
	}
	for dir := range c.entries {
		for _, n := range c.dropEntries(dir) {
			notes = append(notes, kernelNote{ino: dir, name: n, entry: true})
		}
	}
	return notes
}

// streamLost stops long caching and drops from the kernel what it cached
// long: changes are no longer heard of.
func (f *FS) streamLost(err error) {
	c := f.coh
	c.mu.Lock()
	was := c.up
	c.up = false
	var notes []kernelNote
	if was {
		notes = c.everythingLong()
		for _, ino := range c.cache.clear() {
			c.maybeRelease(ino)
		}
		c.recent.forgetAll()
	}
	c.mu.Unlock()
	if !was {
		return
	}
	slog.Warn("lis fs: lost the metaservice's invalidation stream; caching for the short timeouts until it is back",
		"err", err, "entry_timeout", f.opts.EntryTimeout, "attr_timeout", f.opts.AttrTimeout)
	f.metrics.streamUp.Store(false)
	f.dirOpens.allChanged()
	f.notify(notes)
}

// streamUp allows long caching again after a poll answered.
func (f *FS) streamUp() {
	c := f.coh
	c.mu.Lock()
	was := c.up
	c.up = true
	c.mu.Unlock()
	if !was {
		slog.Info("lis fs: invalidation stream is live; caching metadata for long", "cache_timeout", f.opts.CacheTimeout)
		f.metrics.streamUp.Store(true)
	}
}

// kernelBatch is notes for the kernel and the signal that they were
// passed on.
type kernelBatch struct {
	notes []kernelNote
	done  chan struct{}
}

// notifyBound is how long the stream waits for the kernel to take a
// batch of invalidations before it acknowledges them anyway. The kernel
// takes an entry's invalidation under its directory's lock, which a
// request of this mount may hold while it waits for the metaservice,
// which may be waiting for this acknowledgement (a create here while
// another client unlinks there): the bound breaks that cycle, at the cost
// of acknowledging a few milliseconds early only then.
const notifyBound = 50 * time.Millisecond

// kernelNotifier passes batches of invalidations to the kernel, in
// order, until ctx ends. It is the only goroutine that blocks in the
// kernel's invalidation calls.
func (f *FS) kernelNotifier(ctx context.Context) {
	defer f.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-f.kernelNotes:
			f.notifyKernel(b.notes)
			close(b.done)
		}
	}
}

// notify has notes passed to the kernel, and returns once they were or
// notifyBound passed.
func (f *FS) notify(notes []kernelNote) {
	if len(notes) == 0 || f.kernelNotes == nil {
		return
	}
	b := kernelBatch{notes: notes, done: make(chan struct{})}
	timer := time.NewTimer(notifyBound)
	defer timer.Stop()
	select {
	case f.kernelNotes <- b:
	case <-f.ctx.Done():
		return
	case <-timer.C:
		// The notifier is stuck behind a batch: queue this one behind it
		// without waiting.
		go func() {
			select {
			case f.kernelNotes <- b:
			case <-f.ctx.Done():
			}
		}()
		return
	}
	select {
	case <-b.done:
	case <-timer.C:
	}
}

// notifyKernel passes notes to the kernel. Inodes and names the kernel
// no longer has answer ENOENT, which is what was asked.
func (f *FS) notifyKernel(notes []kernelNote) {
	f.mu.Lock()
	srv := f.server
	f.mu.Unlock()
	if srv == nil {
		return
	}
	for _, n := range notes {
		var st fuse.Status
		switch {
		case n.entry:
			st = srv.EntryNotify(uint64(n.ino), n.name)
		case n.pages:
			st = srv.InodeNotify(uint64(n.ino), 0, 0)
		default:
			st = srv.InodeNotify(uint64(n.ino), -1, 0)
		}
		if !st.Ok() && st != fuse.ENOENT {
			slog.Debug("lis fs: kernel invalidation", "ino", n.ino, "name", n.name, "status", st)
		}
	}
}
