package fs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
)

// readChunk fills dst from off of the chunk ref names, from a copy that
// holds at least the version the client saw in the chunk's record (close
// to open: never an older state). The co-located dataserver serves it
// when its copy is that recent; otherwise the nearest dataserver that has
// it does. end is how much of the chunk the file uses (readahead stops
// there). A local replica copy with a bad block (EIO: its dataserver
// reports it and has it repaired) is read around: another copy at the
// version serves the read. A local primary copy is not: only it may hold
// this client's latest writes, and a replica's older bytes would be a
// stale read; the repair moves the chunk to a current replica first.
// A local copy the record does not name is never read: it may be a
// failed-over primary's, diverged, waiting to be quarantined.
func (f *FS) readChunk(ctx context.Context, ref *chunkRef, off int64, dst []byte, end int64) error {
	if !ref.names(f.data.ID()) {
		if ref.version == 0 {
			clear(dst) // nothing committed yet: no version to see
			return nil
		}
		return f.remote.read(ctx, ref, off, dst, end)
	}
	v, err := f.data.Read(ctx, ref.id, off, dst)
	switch {
	case err == nil && v >= ref.version:
		return nil
	case isErrno(err, syscall.EIO) && ref.version > 0 && ref.primary != f.data.ID():
		if rerr := f.remote.read(ctx, ref, off, dst, end); rerr != nil {
			return fmt.Errorf("%w (and no other copy served it: %v)", err, rerr)
		}
		return nil
	case err != nil && !isErrno(err, syscall.ENOENT) && !isErrno(err, syscall.EAGAIN):
		return err
	case ref.version == 0 && (err != nil || ref.primary == f.data.ID()):
		clear(dst) // nothing committed yet: no version to see
		return nil
	}
	return f.remote.read(ctx, ref, off, dst, end)
}

// remoteCopies reads chunks from the dataservers of other hosts, found in
// the metaservice's registry.
type remoteCopies struct {
	meta  Meta
	self  string      // the co-located dataserver's ID
	cache *blockCache // nil: none
	ahead *readahead  // nil without a cache
	creds credentials.TransportCredentials

	mu      sync.Mutex // guards the fields below; not held across I/O but a dial
	known   map[string]ms.DataserverStatus
	clients map[string]*dataserver.Client // by address
}

func newRemoteCopies(meta Meta, self string, cacheBytes int64, creds credentials.TransportCredentials) *remoteCopies {
	r := &remoteCopies{meta: meta, self: self, cache: newBlockCache(cacheBytes), creds: creds, clients: map[string]*dataserver.Client{}}
	if r.cache != nil {
		r.ahead = newReadahead(cacheBytes)
	}
	return r
}

// read fills dst from the block cache or else from the nearest copy of
// ref's chunk at ref.version or newer (see fetch). With a cache, it
// fetches whole remote windows, which the cache then serves, and a
// sequential reader's next windows are fetched ahead (readahead.go).
func (r *remoteCopies) read(ctx context.Context, ref *chunkRef, off int64, dst []byte, end int64) error {
	if r.cache == nil {
		_, err := r.fetch(ctx, ref, off, dst)
		return err
	}
	if !r.cache.get(ref.id, ref.version, off, dst) {
		if err := r.ahead.fill(ctx, r, ref, off, len(dst), max(end, off+int64(len(dst)))); err != nil {
			return err
		}
		if !r.cache.get(ref.id, ref.version, off, dst) {
			// Evicted already, or the windows came from two versions.
			lo, hi := span(off, len(dst))
			buf := make([]byte, hi-lo)
			v, err := r.fetch(ctx, ref, lo, buf)
			if err != nil {
				return err
			}
			r.cache.put(ref.id, v, lo, buf)
			copy(dst, buf[off-lo:])
		}
	}
	r.ahead.after(r, ref, off+int64(len(dst)), end)
	return nil
}

// fetch fills buf from off of ref's chunk from the nearest copy that
// holds ref.version or newer: same site first, then same region, then
// any; the primary first among equals, since it holds the newest version.
// It returns the version read.
func (r *remoteCopies) fetch(ctx context.Context, ref *chunkRef, off int64, buf []byte) (uint64, error) {
	ds, err := r.registry(ctx, ref)
	if err != nil {
		return 0, err
	}
	var tried []error
	for _, d := range r.candidates(ref, ds) {
		v, err := r.readFrom(ctx, d, ref.id, off, buf)
		if err == nil && v >= ref.version {
			return v, nil
		}
		if err == nil {
			err = fmt.Errorf("holds version %d", v)
		}
		tried = append(tried, fmt.Errorf("%s: %w", d.ID, err))
	}
	return 0, fmt.Errorf("no reachable copy holds version %d (%w): %w", ref.version, errors.Join(tried...), syscall.EIO)
}

// candidates orders the copies that may hold ref's chunk at its version:
// all of them, since the record does not follow every copy's version;
// each read says which version it served.
func (r *remoteCopies) candidates(ref *chunkRef, ds map[string]ms.DataserverStatus) []ms.DataserverStatus {
	var out []ms.DataserverStatus
	for _, rep := range ref.replicas {
		if d, ok := ds[rep.Dataserver]; ok && rep.Dataserver != r.self {
			out = append(out, d)
		}
	}
	if d, ok := ds[ref.primary]; ok && ref.primary != r.self && !slices.ContainsFunc(out, func(c ms.DataserverStatus) bool { return c.ID == ref.primary }) {
		out = append(out, d)
	}
	me := ds[r.self]
	distance := func(d ms.DataserverStatus) int {
		switch {
		case d.Site != "" && d.Site == me.Site:
			return 0
		case d.Region != "" && d.Region == me.Region:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b ms.DataserverStatus) int {
		return cmp.Or(cmp.Compare(distance(a), distance(b)), cmp.Compare(int(a.Liveness), int(b.Liveness)),
			boolOrder(a.ID == ref.primary, b.ID == ref.primary))
	})
	return out
}

// boolOrder sorts true first.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// registry returns the registered dataservers, listed again when one
// that ref names is not known yet.
func (r *remoteCopies) registry(ctx context.Context, ref *chunkRef) (map[string]ms.DataserverStatus, error) {
	r.mu.Lock()
	ds := r.known
	r.mu.Unlock()
	if ds != nil && ds[ref.primary].ID != "" && ds[r.self].ID != "" {
		return ds, nil
	}
	return r.refresh(ctx)
}

// dataservers returns the registry as last listed (listed now if never).
func (r *remoteCopies) dataservers(ctx context.Context) (map[string]ms.DataserverStatus, error) {
	r.mu.Lock()
	ds := r.known
	r.mu.Unlock()
	if ds != nil {
		return ds, nil
	}
	return r.refresh(ctx)
}

// refresh lists the registry again.
func (r *remoteCopies) refresh(ctx context.Context) (map[string]ms.DataserverStatus, error) {
	list, err := r.meta.ListDataservers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list dataservers: %w", err)
	}
	ds := map[string]ms.DataserverStatus{}
	for _, d := range list {
		ds[d.ID] = d
	}
	r.mu.Lock()
	r.known = ds
	r.mu.Unlock()
	return ds, nil
}

func (r *remoteCopies) readFrom(ctx context.Context, d ms.DataserverStatus, chunk uint64, off int64, dst []byte) (uint64, error) {
	c, err := r.client(d.Addr)
	if err != nil {
		return 0, err
	}
	return readFrom(ctx, c, chunk, off, dst)
}

func (r *remoteCopies) client(addr string) (*dataserver.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[addr]; ok {
		return c, nil
	}
	c, err := dataserver.DialCreds(addr, r.creds)
	if err != nil {
		return nil, err
	}
	r.clients[addr] = c
	return c, nil
}

func (r *remoteCopies) close() {
	r.ahead.stop() // before the clients it reads through
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, c := range r.clients {
		c.Close()
		delete(r.clients, addr)
	}
}
