package fs

import (
	"context"
	"sync"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// dirOpens keeps this session's opens of directories registered with the
// metaservice beyond their last close, while the directory is cached
// long: a second `ls` of a directory then opens it without a round trip.
// The registration is what keeps a directory another client removes
// readable through descriptors open here; the kernel checks permissions
// itself (default_permissions), so an open that is not sent loses no
// check. An idle registration goes when the directory changes (an
// invalidation), when it was idle for CacheTimeout, or with the session.
type dirOpens struct {
	mu    sync.Mutex // guards dirs; never held across a call
	dirs  map[ms.Ino]*dirOpen
	limit int // idle registrations kept at most
}

type dirOpen struct {
	handles int       // open handles of this client
	idle    time.Time // when handles last fell to 0
	stale   bool      // the directory changed: release when idle
}

// maxIdleDirOpens bounds the idle registrations kept.
const maxIdleDirOpens = 4096

// open counts a handle of dir and reports whether the metaservice must
// be told (no registration is kept).
func (d *dirOpens) open(dir ms.Ino) (register bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dirs == nil {
		d.dirs = map[ms.Ino]*dirOpen{}
	}
	if o := d.dirs[dir]; o != nil {
		o.handles++
		return false
	}
	d.dirs[dir] = &dirOpen{handles: 1}
	return true
}

// failed undoes open after the metaservice refused the open.
func (d *dirOpens) failed(dir ms.Ino) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dirs, dir)
}

// close counts a handle's release and reports whether the registration
// must go now: it is stale, or keeping it is not wanted (keep false).
func (d *dirOpens) close(dir ms.Ino, keep bool) (release bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.dirs[dir]
	if o == nil {
		return true
	}
	if o.handles--; o.handles > 0 {
		return false
	}
	if !keep || o.stale || len(d.dirs) > maxIdleDirOpens {
		delete(d.dirs, dir)
		return true
	}
	o.idle = time.Now()
	return false
}

// changed marks dir's registration stale.
func (d *dirOpens) changed(dir ms.Ino) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.dirs[dir]; o != nil {
		o.stale = true
	}
}

// allChanged marks every registration stale: changes are no longer
// heard of.
func (d *dirOpens) allChanged() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range d.dirs {
		o.stale = true
	}
}

// expired takes the idle registrations that are stale or older than
// maxIdle (all idle ones with maxIdle 0).
func (d *dirOpens) expired(maxIdle time.Duration) []ms.Ino {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []ms.Ino
	for dir, o := range d.dirs {
		if o.handles == 0 && (o.stale || maxIdle == 0 || time.Since(o.idle) > maxIdle) {
			out = append(out, dir)
			delete(d.dirs, dir)
		}
	}
	return out
}

// releaseIdleDirs releases the registrations dirOpens gives up.
func (f *FS) releaseIdleDirs(context.Context) error {
	f.releaseDirs(f.dirOpens.expired(f.opts.CacheTimeout))
	return nil
}

func (f *FS) releaseDirs(dirs []ms.Ino) {
	for _, dir := range dirs {
		f.releases.add(dir)
	}
}
