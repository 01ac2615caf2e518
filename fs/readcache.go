package fs

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	ms "github.com/lis-fs/lis/metaservice"
)

// blockCache keeps blocks of chunks this client read from other hosts'
// dataservers, so that reading remote data again is local. It is bounded
// (LRU, Options.RemoteCacheBytes) and never serves an older state than
// close-to-open allows: a block is used only at a version at least the one
// the reader's open saw, and one read is served from the cache only when
// every block it needs is there at one version (never a mix of two).
type blockCache struct {
	lru *lru.Cache[blockKey, cachedBlock] // safe for concurrent use
}

type blockKey struct {
	chunk uint64
	block int64
}

// cachedBlock is one whole block of a chunk at version.
type cachedBlock struct {
	version uint64
	data    []byte
}

const cacheBlock = chunkstore.BlockSize

// newBlockCache returns a cache of about size bytes, or nil (no cache)
// when size is not positive.
func newBlockCache(size int64) *blockCache {
	n := int(size / cacheBlock)
	if n <= 0 {
		return nil
	}
	c, _ := lru.New[blockKey, cachedBlock](n) // n > 0: never fails
	return &blockCache{lru: c}
}

// span returns the whole blocks that cover [off, off+n) of a chunk.
func span(off int64, n int) (lo, hi int64) {
	lo = off / cacheBlock * cacheBlock
	hi = (off + int64(n) + cacheBlock - 1) / cacheBlock * cacheBlock
	return lo, min(hi, int64(ms.ChunkSize))
}

// get fills dst from off of chunk if every block it needs is cached at
// one version of at least atLeast.
func (c *blockCache) get(chunk, atLeast uint64, off int64, dst []byte) bool {
	if c == nil || len(dst) == 0 {
		return false
	}
	lo, hi := span(off, len(dst))
	var version uint64
	var blocks []cachedBlock
	for b := lo; b < hi; b += cacheBlock {
		cb, ok := c.lru.Get(blockKey{chunk, b / cacheBlock})
		if !ok || cb.version < atLeast || version != 0 && cb.version != version {
			return false
		}
		version = cb.version
		blocks = append(blocks, cb)
	}
	for i, cb := range blocks {
		bOff := lo + int64(i)*cacheBlock
		from, to := max(off, bOff), min(off+int64(len(dst)), bOff+cacheBlock)
		copy(dst[from-off:to-off], cb.data[from-bOff:to-bOff])
	}
	return true
}

// put keeps the whole blocks of buf, read at lo (a block boundary) of
// chunk at version.
func (c *blockCache) put(chunk, version uint64, lo int64, buf []byte) {
	if c == nil {
		return
	}
	for i := int64(0); i+cacheBlock <= int64(len(buf)); i += cacheBlock {
		c.lru.Add(blockKey{chunk, (lo + i) / cacheBlock}, cachedBlock{version: version, data: buf[i : i+cacheBlock]})
	}
}

// has says whether the block at off of chunk is cached at atLeast or newer.
func (c *blockCache) has(chunk, atLeast uint64, off int64) bool {
	cb, ok := c.lru.Peek(blockKey{chunk, off / cacheBlock})
	return ok && cb.version >= atLeast
}
