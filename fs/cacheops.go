package fs

import (
	ms "github.com/lis-fs/lis/metaservice"
)

// The client cache's operations as the handlers use them: each takes
// coherence.mu, answers only while the stream is live, and caches only
// what is held and still long (coherence.go, metacache.go).

// cachedAttr returns ino's cached attributes, or nil.
func (c *coherence) cachedAttr(ino ms.Ino) *ms.Attr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up {
		return nil
	}
	return c.cache.attr(ino)
}

// cachedLookup answers name in dir from the cache: its attributes (nil:
// known absent), and whether the cache knows.
func (c *coherence) cachedLookup(dir ms.Ino, name string) (*ms.Attr, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up {
		return nil, false
	}
	ino, known := c.cache.lookup(dir, name)
	if !known || ino == 0 {
		return nil, known
	}
	a := c.cache.attr(ino)
	return a, a != nil
}

// cacheAttr caches attributes answered long; the inode must be held.
func (c *coherence) cacheAttr(a *ms.Attr, long bool) {
	if !long || a == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds[a.Ino].n > 0 {
		c.released(c.cache.putAttr(a))
	}
}

// cacheName records name in dir as ino (0: absent), answered long; with
// create, a directory the cache has nothing of gets an item.
func (c *coherence) cacheName(dir ms.Ino, name string, ino ms.Ino, long, create bool) {
	if !long {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds[dir].n > 0 {
		c.released(c.cache.setName(dir, name, ino, create))
	}
}

// cacheNewDir records that dir, which this client just made, is empty.
func (c *coherence) cacheNewDir(dir ms.Ino, long bool) {
	if !long {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holds[dir].n > 0 {
		d, evicted := c.cache.names(dir)
		d.complete = true
		c.released(evicted)
	}
}

// cacheListing records the entries of a listing of dir asked for at mark;
// whole says it ran from the start to the end.
func (c *coherence) cacheListing(dir ms.Ino, ents []ms.DirEntry, whole bool, mark answerMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stillLongLocked(mark, dir) || c.holds[dir].n == 0 {
		return
	}
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		if e.Attr != nil && c.holds[e.Ino].n > 0 && !c.recent.since(e.Ino, mark.applied, mark.call) {
			c.released(c.cache.putAttr(e.Attr))
		}
		c.released(c.cache.setName(dir, e.Name, e.Ino, true))
	}
	if whole {
		if d, evicted := c.cache.names(dir); d != nil {
			d.complete = len(d.uncertain) == 0
			c.released(evicted)
		}
	}
}

// settle records what this client's call, asked for at mark, made of
// name in dir: ino, or 0 for absent. If another change crossed it, the
// name is left for a lookup to tell.
func (c *coherence) settle(dir ms.Ino, name string, ino ms.Ino, mark answerMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stillLongLocked(mark, dir) {
		c.released(c.cache.setName(dir, name, ino, false))
	} else {
		c.cache.forgetName(dir, name)
	}
}
