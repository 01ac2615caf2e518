package fs

import (
	"context"
	"sync"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// coherence is the client's half of the metaservice's cache promises
// (package metaservice/callbacks). The metaservice tells this session
// when an inode it holds changes; while that stream of invalidations is
// live, answers may be cached long (Options.CacheTimeout) by the kernel,
// and each invalidation is passed on to the kernel (invalidate.go). When
// the stream is lost, everything cached long is dropped from the kernel
// and answers are cached for the short timeouts only, until it is back.
//
// Holds are counted here as the metaservice counts them: one per inode
// answered by a holding call (see metaservice.Caller), given back when the
// kernel forgets the inode.
type coherence struct {
	// calls is held shared by holding calls in flight and exclusively by
	// a reset, so that no answer counted before a reset lands after it.
	// It is never held across a kernel notification: the kernel may be
	// holding a directory lock while it waits for a call that waits for it.
	calls sync.RWMutex

	mu      sync.Mutex // guards everything below; never held across I/O
	up      bool       // the stream is live: answers may be cached long
	epoch   uint64     // what the next poll acknowledges
	seq     uint64
	holds   map[ms.Ino]uint32
	resets  uint64              // whole-cache drops so far
	release []callbacks.Release // counts to give back with the next poll
	recent  recentEvents
	// entries are the names, present or absent, the kernel was given for
	// long, per directory: they must be dropped from it if the stream is
	// lost. At most maxLongEntries; past it names are cached short.
	entries  map[ms.Ino]map[string]struct{}
	nEntries int
}

// maxLongEntries bounds the names remembered for the kernel (some 100
// bytes each).
const maxLongEntries = 1 << 20

func newCoherence() *coherence {
	return &coherence{holds: map[ms.Ino]uint32{}, entries: map[ms.Ino]map[string]struct{}{}}
}

// holdingCall is a holding call in flight.
type holdingCall struct {
	ctx   context.Context
	start answerMark
}

// answerMark is when an answer was asked for: the invalidations applied
// and the whole-cache drops made by then.
type answerMark struct{ applied, resets uint64 }

// begin starts a holding call made with ctx by session. The caller must
// end it, whatever the call returned.
func (c *coherence) begin(ctx context.Context, session uint64) holdingCall {
	c.calls.RLock()
	c.mu.Lock()
	start := answerMark{c.recent.applied, c.resets}
	c.mu.Unlock()
	return holdingCall{ctx: ms.WithCaller(ctx, ms.Caller{Session: session, Hold: true}), start: start}
}

// end counts the holds the call's answer took (held: the inodes it
// answered with; none after an error) and reports whether the answer may
// be cached long: the stream is live and no invalidation of held or of
// the directories in dirs arrived while the call was out.
func (c *coherence) end(h holdingCall, held []ms.Ino, dirs ...ms.Ino) bool {
	defer c.calls.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ino := range held {
		c.holds[ino]++
	}
	if !c.up {
		return false
	}
	for _, ino := range append(held, dirs...) {
		if c.recent.since(ino, h.start.applied) {
			return false
		}
	}
	return true
}

// isHeld reports whether ino's attributes may be cached long now.
func (c *coherence) isHeld(ino ms.Ino) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up && c.holds[ino] > 0
}

// longEntry remembers that the kernel was given name in dir for long, and
// reports whether it may be: false past maxLongEntries.
func (c *coherence) longEntry(dir ms.Ino, name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := c.entries[dir]
	if _, ok := names[name]; ok {
		return true
	}
	if c.nEntries >= maxLongEntries {
		return false
	}
	if names == nil {
		names = map[string]struct{}{}
		c.entries[dir] = names
	}
	names[name] = struct{}{}
	c.nEntries++
	return true
}

// stillLong reports whether an answer about inos, asked for at mark, may
// still be cached long.
func (c *coherence) stillLong(mark answerMark, inos ...ms.Ino) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up || c.resets != mark.resets {
		return false
	}
	for _, ino := range inos {
		if c.recent.since(ino, mark.applied) {
			return false
		}
	}
	return true
}

// unused gives back the holds of listed entries, answered at mark, that
// the kernel was never given (one each: their listing's). After a reset
// there is nothing of theirs to give back.
func (c *coherence) unused(ents []ms.DirEntry, mark answerMark) {
	inos := ms.AnsweredInos(ents)
	if len(inos) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resets != mark.resets {
		return
	}
	for _, ino := range inos {
		n := c.holds[ino]
		if n == 0 {
			continue
		}
		if n == 1 {
			delete(c.holds, ino)
		} else {
			c.holds[ino] = n - 1
		}
		c.release = append(c.release, callbacks.Release{Ino: uint64(ino), N: 1})
	}
}

// forgot gives back the holds of an inode the kernel forgot; its names
// went from the kernel with it, if it is a directory.
func (c *coherence) forgot(ino ms.Ino) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.holds[ino]; n > 0 {
		c.release = append(c.release, callbacks.Release{Ino: uint64(ino), N: n})
		delete(c.holds, ino)
	}
	c.dropEntries(ino)
}

// dropEntry forgets one name of dir; called with mu held.
func (c *coherence) dropEntry(dir ms.Ino, name string) {
	if _, ok := c.entries[dir][name]; ok {
		delete(c.entries[dir], name)
		c.nEntries--
	}
}

// dropEntries forgets dir's names; called with mu held.
func (c *coherence) dropEntries(dir ms.Ino) []string {
	names := c.entries[dir]
	delete(c.entries, dir)
	c.nEntries -= len(names)
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	return out
}

// takeReleases returns the counts to give back with the next poll, at
// most what one poll carries. They are given back once: a poll that fails
// may or may not have delivered them, and a count given back twice could
// drop a hold a later answer took, where one never given back only keeps
// a hold longer than needed.
func (c *coherence) takeReleases(limit int) []callbacks.Release {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.release), limit)
	out := c.release[:n:n]
	c.release = c.release[n:]
	if len(c.release) == 0 {
		c.release = nil
	}
	return out
}

// recentEvents numbers the invalidations applied and remembers the last
// one of each inode recently touched, so an answer that was read before
// an invalidation it crossed on the way is not cached long.
type recentEvents struct {
	applied uint64            // invalidations applied
	floor   uint64            // invalidations at or below it are forgotten
	last    map[ms.Ino]uint64 // inode → its last invalidation
	order   []ms.Ino
}

// recentSize bounds the inodes remembered; a call slower than this many
// invalidations is not cached long.
const recentSize = 4096

func (r *recentEvents) note(ino ms.Ino) {
	r.applied++
	if r.last == nil {
		r.last = map[ms.Ino]uint64{}
	}
	r.last[ino] = r.applied
	r.order = append(r.order, ino)
	if len(r.order) <= recentSize {
		return
	}
	old := r.order[0]
	r.order = r.order[1:]
	r.floor++
	if r.last[old] <= r.floor {
		delete(r.last, old)
	}
}

// since reports whether ino may have been invalidated after the start-th
// invalidation.
func (r *recentEvents) since(ino ms.Ino, start uint64) bool {
	return start < r.floor || r.last[ino] > start
}
