package fs

import (
	"container/list"

	ms "github.com/lis-fs/lis/metaservice"
)

// metaCache is the client's own cache of what the metaservice answered:
// attributes, and per directory the names it knows (present, or absent),
// with whether they are the directory's whole listing. The kernel caches
// the same for the inodes and names it keeps; this one answers the
// kernel's lookups and stats once the kernel evicted them (memory
// pressure, drop_caches) and the lookups of names the kernel never saw
// in a directory listed whole, such as the name a create is about to
// make. It is bounded in entries and bytes and evicts the least recently
// used.
//
// It holds only what the metaservice holds for this session (coherence
// keeps a cached inode's hold), so every change by another client drops
// its entries (an invalidation), and changes by this client drop them
// before the call that made them returns (ownChanges). Its methods are
// called with coherence.mu held.
type metaCache struct {
	maxEntries int
	maxBytes   int64
	bytes      int64
	lru        list.List // of *cacheItem, most recent at the front
	attrs      map[ms.Ino]*list.Element
	dirs       map[ms.Ino]*list.Element
}

// cacheItem is an inode's attributes or a directory's names.
type cacheItem struct {
	ino  ms.Ino
	attr *ms.Attr     // for an attributes item
	dir  *cachedNames // for a names item
	size int64
}

// cachedNames are the names known in one directory. An absent name is
// known when names maps it to 0, or when complete and it is not there.
// A name this client changed is uncertain until the call's answer
// settles it: it is then asked for, whatever complete says.
type cachedNames struct {
	names     map[string]ms.Ino
	complete  bool
	uncertain map[string]bool
}

const (
	attrItemSize = 256 // an Attr, its list element and map entry
	nameSize     = 48  // a name's map entry, past its bytes
	// maxDirNames bounds the names kept of one directory: a directory of
	// a million files would otherwise take the whole cache, and its
	// listing is no use for answering absent names unless it is whole.
	maxDirNames = 16384
)

func newMetaCache(maxEntries int, maxBytes int64) *metaCache {
	return &metaCache{maxEntries: maxEntries, maxBytes: maxBytes,
		attrs: map[ms.Ino]*list.Element{}, dirs: map[ms.Ino]*list.Element{}}
}

// attr returns ino's cached attributes, or nil.
func (m *metaCache) attr(ino ms.Ino) *ms.Attr {
	e := m.attrs[ino]
	if e == nil {
		return nil
	}
	m.lru.MoveToFront(e)
	return e.Value.(*cacheItem).attr
}

// lookup answers name in dir from the cache: the inode (0: known absent)
// and whether the cache knows.
func (m *metaCache) lookup(dir ms.Ino, name string) (ms.Ino, bool) {
	e := m.dirs[dir]
	if e == nil {
		return 0, false
	}
	m.lru.MoveToFront(e)
	d := e.Value.(*cacheItem).dir
	if d.uncertain[name] {
		return 0, false
	}
	ino, ok := d.names[name]
	return ino, ok || d.complete
}

// putAttr caches a's attributes and returns what it evicted to make room.
func (m *metaCache) putAttr(a *ms.Attr) []*cacheItem {
	if m.maxEntries <= 0 {
		return nil
	}
	if e := m.attrs[a.Ino]; e != nil {
		e.Value.(*cacheItem).attr = a
		m.lru.MoveToFront(e)
		return nil
	}
	it := &cacheItem{ino: a.Ino, attr: a, size: attrItemSize + int64(len(a.Target))}
	m.attrs[a.Ino] = m.lru.PushFront(it)
	m.bytes += it.size
	return m.evict()
}

// names returns dir's names item, made (incomplete, empty) if absent,
// and what making it evicted.
func (m *metaCache) names(dir ms.Ino) (*cachedNames, []*cacheItem) {
	if m.maxEntries <= 0 {
		return &cachedNames{names: map[string]ms.Ino{}}, nil // kept nowhere
	}
	if e := m.dirs[dir]; e != nil {
		m.lru.MoveToFront(e)
		return e.Value.(*cacheItem).dir, nil
	}
	it := &cacheItem{ino: dir, dir: &cachedNames{names: map[string]ms.Ino{}}, size: attrItemSize}
	m.dirs[dir] = m.lru.PushFront(it)
	m.bytes += it.size
	return it.dir, m.evict()
}

// setName records name in dir as ino (0: absent), if the cache has the
// directory's item or create says to make one; it settles the name.
func (m *metaCache) setName(dir ms.Ino, name string, ino ms.Ino, create bool) []*cacheItem {
	if m.maxEntries <= 0 || (!create && m.dirs[dir] == nil) {
		return nil
	}
	d, evicted := m.names(dir)
	delete(d.uncertain, name)
	if _, ok := d.names[name]; !ok {
		if len(d.names) >= maxDirNames {
			d.complete = false // a name it does not keep
			return evicted
		}
		m.grow(dir, int64(len(name))+nameSize)
	}
	d.names[name] = ino
	return append(evicted, m.evict()...)
}

// unsettle makes name in dir uncertain: this client changed it, and the
// call's answer will tell how.
func (m *metaCache) unsettle(dir ms.Ino, name string) {
	e := m.dirs[dir]
	if e == nil {
		return
	}
	d := e.Value.(*cacheItem).dir
	if _, ok := d.names[name]; ok {
		delete(d.names, name)
		m.grow(dir, -int64(len(name))-nameSize)
	}
	if d.uncertain == nil {
		d.uncertain = map[string]bool{}
	}
	d.uncertain[name] = true
}

// forgetName drops what is known of name in dir, which stops being a
// whole listing: another client changed the name, or this one in a way
// its answer does not tell.
func (m *metaCache) forgetName(dir ms.Ino, name string) {
	if e := m.dirs[dir]; e != nil {
		m.unsettle(dir, name)
		e.Value.(*cacheItem).dir.complete = false
	}
}

func (m *metaCache) grow(dir ms.Ino, by int64) {
	it := m.dirs[dir].Value.(*cacheItem)
	it.size += by
	m.bytes += by
}

// dropAttr forgets ino's attributes.
func (m *metaCache) dropAttr(ino ms.Ino) {
	if e := m.attrs[ino]; e != nil {
		m.remove(e)
	}
}

// dropDir forgets dir's names.
func (m *metaCache) dropDir(dir ms.Ino) {
	if e := m.dirs[dir]; e != nil {
		m.remove(e)
	}
}

// has reports whether the cache keeps anything of ino.
func (m *metaCache) has(ino ms.Ino) bool { return m.attrs[ino] != nil || m.dirs[ino] != nil }

func (m *metaCache) remove(e *list.Element) {
	it := e.Value.(*cacheItem)
	m.lru.Remove(e)
	m.bytes -= it.size
	if it.attr != nil {
		delete(m.attrs, it.ino)
	} else {
		delete(m.dirs, it.ino)
	}
}

// evict drops the least recently used items while the cache is over its
// bounds, and returns them.
func (m *metaCache) evict() []*cacheItem {
	var out []*cacheItem
	for m.lru.Len() > m.maxEntries || m.bytes > m.maxBytes {
		e := m.lru.Back()
		if e == nil {
			break
		}
		m.remove(e)
		out = append(out, e.Value.(*cacheItem))
	}
	return out
}

// clear drops everything and returns the inodes it kept.
func (m *metaCache) clear() []ms.Ino {
	inos := make([]ms.Ino, 0, len(m.attrs)+len(m.dirs))
	for ino := range m.attrs {
		inos = append(inos, ino)
	}
	for ino := range m.dirs {
		inos = append(inos, ino)
	}
	m.attrs, m.dirs, m.bytes = map[ms.Ino]*list.Element{}, map[ms.Ino]*list.Element{}, 0
	m.lru.Init()
	return inos
}
