package fs

import (
	"context"
	"sync"
	"sync/atomic"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// coherence is the client's half of the metaservice's cache promises
// (package metaservice/callbacks). The metaservice tells this session
// when an inode it holds changes; while that stream of invalidations is
// live, answers may be cached long, by the kernel (Options.CacheTimeout)
// and by the client's own cache (metacache.go), and each invalidation is
// passed on to both (invalidate.go). When the stream is lost, everything
// cached long is dropped and answers are cached for the short timeouts
// only, until it is back.
//
// Holds are counted here as the metaservice counts them: one per inode
// answered by a holding call (see metaservice.Caller). They are given
// back once neither the kernel nor the client's cache keeps the inode.
type coherence struct {
	// calls is held shared by holding calls in flight and exclusively by
	// a reset, so that no answer counted before a reset lands after it.
	// It is never held across a kernel notification: the kernel may be
	// holding a directory lock while it waits for a call that waits for it.
	calls sync.RWMutex
	// nextCall numbers calls, so that a call's own changes do not spoil
	// its own answer (recent.go).
	nextCall atomic.Uint64

	mu      sync.Mutex // guards everything below; never held across I/O
	up      bool       // the stream is live: answers may be cached long
	epoch   uint64     // what the next poll acknowledges
	seq     uint64
	holds   map[ms.Ino]holdState
	resets  uint64              // whole-cache drops so far
	release []callbacks.Release // counts to give back with the next poll
	recent  recentEvents
	cache   *metaCache
	// entries are the names, present or absent, the kernel was given for
	// long, per directory: they must be dropped from it if the stream is
	// lost. At most maxLongEntries; past it names are cached short.
	entries  map[ms.Ino]map[string]struct{}
	nEntries int
}

// holdState is this session's holds of one inode: the count the
// metaservice has, and whether the kernel keeps the inode.
type holdState struct {
	n      uint32
	kernel bool
}

// maxLongEntries bounds the names remembered for the kernel (some 50
// bytes each), and maxHeld the inodes held (some 25 bytes here and 40 in
// the metaservice): past them, answers are cached for the short timeouts
// only, and a directory of a million files costs what it did before.
const (
	maxLongEntries = 1 << 16
	maxHeld        = 1 << 16
)

func newCoherence(cacheEntries int, cacheBytes int64) *coherence {
	return &coherence{holds: map[ms.Ino]holdState{}, entries: map[ms.Ino]map[string]struct{}{},
		cache: newMetaCache(cacheEntries, cacheBytes)}
}

// holdingCall is a holding call in flight.
type holdingCall struct {
	ctx   context.Context
	start answerMark
}

// answerMark is when an answer was asked for: the changes heard of and
// the whole-cache drops made by then, and the call asking.
type answerMark struct{ applied, resets, call uint64 }

// callSink takes one call's own changes.
type callSink struct {
	c    *coherence
	call uint64
}

func (s callSink) OwnChanges(chs []ms.OwnChange) { s.c.ownChanges(chs, s.call) }

// caller returns what a call made with ctx by session says of itself, and
// its mark.
func (c *coherence) caller(session uint64, hold bool) (ms.Caller, answerMark) {
	call := c.nextCall.Add(1)
	c.mu.Lock()
	mark := answerMark{c.recent.applied, c.resets, call}
	c.mu.Unlock()
	return ms.Caller{Session: session, Hold: hold, Own: callSink{c, call}}, mark
}

// begin starts a holding call made with ctx by session. The caller must
// end it, whatever the call returned.
func (c *coherence) begin(ctx context.Context, session uint64) holdingCall {
	c.calls.RLock()
	caller, mark := c.caller(session, true)
	return holdingCall{ctx: ms.WithCaller(ctx, caller), start: mark}
}

// end counts the holds the call's answer took (held: the inodes it
// answered with; none after an error) and reports whether the answer may
// be cached long: the stream is live and nothing of held or of the
// directories in dirs changed while the call was out.
func (c *coherence) end(h holdingCall, held []ms.Ino, dirs ...ms.Ino) bool {
	defer c.calls.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ino := range held {
		st, ok := c.holds[ino]
		if !ok && len(c.holds) >= maxHeld {
			// Over the budget: the hold goes back at once, and the
			// answer is cached short.
			c.release = append(c.release, callbacks.Release{Ino: uint64(ino), N: 1})
			continue
		}
		st.n++
		c.holds[ino] = st
	}
	return c.stillLongLocked(h.start, append(held, dirs...)...)
}

// stillLong reports whether an answer about inos, asked for at mark, may
// still be cached long: they are held, and did not change since.
func (c *coherence) stillLong(mark answerMark, inos ...ms.Ino) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stillLongLocked(mark, inos...)
}

func (c *coherence) stillLongLocked(mark answerMark, inos ...ms.Ino) bool {
	if !c.up || c.resets != mark.resets {
		return false
	}
	for _, ino := range inos {
		if c.holds[ino].n == 0 || c.recent.since(ino, mark.applied, mark.call) {
			return false
		}
	}
	return true
}

// isHeld reports whether ino's attributes may be cached long now.
func (c *coherence) isHeld(ino ms.Ino) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up && c.holds[ino].n > 0
}

// kernelGot records that the kernel took a reference to a held ino (an
// inode not held has no hold to give back when the kernel forgets it).
func (c *coherence) kernelGot(ino ms.Ino) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.holds[ino]; ok {
		st.kernel = true
		c.holds[ino] = st
	}
}

// forgot records that the kernel forgot ino: its names went with it, if
// it is a directory, and its holds go unless the cache keeps it.
func (c *coherence) forgot(ino ms.Ino) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropEntries(ino)
	if st, ok := c.holds[ino]; ok {
		st.kernel = false
		c.holds[ino] = st
		c.maybeRelease(ino)
	}
}

// maybeRelease gives back ino's holds if neither the kernel nor the cache
// keeps it. Called with mu held.
func (c *coherence) maybeRelease(ino ms.Ino) {
	st, ok := c.holds[ino]
	if !ok || st.kernel || c.cache.has(ino) {
		return
	}
	delete(c.holds, ino)
	if st.n > 0 {
		c.release = append(c.release, callbacks.Release{Ino: uint64(ino), N: st.n})
	}
}

// released gives back the holds of what the cache evicted.
func (c *coherence) released(items []*cacheItem) {
	for _, it := range items {
		c.maybeRelease(it.ino)
	}
}

// unused gives back the holds of listed entries, answered at mark, that
// neither the kernel nor the cache took. After a reset there is nothing
// of theirs to give back.
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
		c.maybeRelease(ino)
	}
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

// ownChanges brings the cache up to what a call of this client changed,
// before the call returns: the attributes it wrote replace those cached
// (a create's parent directory keeps its cached attributes so), and the
// names it changed are left for its answer, or the handler, to settle.
func (c *coherence) ownChanges(chs []ms.OwnChange, call uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range chs {
		ev := ch.Event
		ino := ms.Ino(ev.Ino)
		c.recent.note(ino, call)
		switch {
		case !ev.Entry && ch.Attr != nil && c.up && c.holds[ino].n > 0:
			c.released(c.cache.putAttr(ch.Attr))
		case !ev.Entry:
			c.cache.dropAttr(ino)
			c.maybeRelease(ino)
		case ev.Name == "":
			c.cache.dropDir(ino)
		default:
			c.cache.unsettle(ino, ev.Name)
		}
	}
}
