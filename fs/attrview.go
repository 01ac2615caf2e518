package fs

import (
	"syscall"

	ms "github.com/lis-fs/lis/metaservice"
)

// What this client tells the kernel about a file's size and mtime must
// never go backwards while it has writes the metaservice may not have:
// without the writeback cache the kernel places an O_APPEND write at the
// size it cached, so an older size reported once overwrites the last
// append. Two windows make an answer of the metaservice older than what
// this client knows:
//
//   - unconfirmed writes: acknowledged by the dataserver and not yet
//     committed, or committed with no answer yet (the metaservice may have
//     them or not). The answer is merged with the local size and mtime.
//   - a stale answer: one the metaservice gave before a commit, truncate
//     or open whose answer this client already has, which shows as a
//     content generation (Attr.Gen, bumped by every content change) below
//     the newest this client saw. Such an answer is reported with the
//     newest size and mtime instead. After the last close the newest
//     version is kept in fileTable.closed, since an answer may still be on
//     its way.
//
// Any other answer is reported as the metaservice gave it, and an open
// file takes it as its own state: a file another client changed is read
// up to the size the kernel was told, from the chunks that size covers.
//
// The kernel's page cache is the other copy of a file's content here. It
// is kept at an open only when it holds the generation the open finds
// (openFile.pages): the kernel drops it at every other open, and this
// client's own commits and truncates, which the kernel saw go through,
// carry it forward.

// fileVersion is what this client knows of an inode's content: the newest
// generation it saw, with its size and mtime, and the generation the
// kernel's cached pages hold.
type fileVersion struct {
	gen   uint64
	size  uint64
	mtime int64
	pages uint64
}

// version returns what this client knows of the file; of.mu held.
func (of *openFile) version() fileVersion {
	return fileVersion{gen: of.gen, size: of.size, mtime: of.mtime, pages: of.pages}
}

// unconfirmed says the metaservice may lack some of this client's writes;
// of.mu held.
func (of *openFile) unconfirmed() bool { return of.dirty || of.committing }

// overlay returns the attributes to report for a, an answer of the
// metaservice (see the rules above).
func (t *fileTable) overlay(a *ms.Attr) *ms.Attr {
	if a.Type() != syscall.S_IFREG {
		return a
	}
	t.mu.Lock()
	of := t.files[a.Ino]
	last, closed := t.closed[a.Ino]
	t.mu.Unlock()
	switch {
	case of != nil:
		of.mu.Lock()
		defer of.mu.Unlock()
		return of.observe(a)
	case closed && a.Gen < last.gen:
		return last.replace(a)
	}
	return a
}

// observe takes a, an answer of the metaservice, into the file's state
// and returns the attributes to report; of.mu held.
func (of *openFile) observe(a *ms.Attr) *ms.Attr {
	switch {
	case of.unconfirmed():
		of.size, of.mtime, of.gen = max(of.size, a.Size), max(of.mtime, a.Mtime), max(of.gen, a.Gen)
		return of.version().replace(a)
	case a.Gen < of.gen:
		return of.version().replace(a)
	case a.Gen > of.gen:
		clear(of.chunks) // another client's change: chunks may have moved
	}
	of.size, of.mtime, of.gen = a.Size, a.Mtime, a.Gen
	return a
}

// replace returns a with v's size and mtime.
func (v fileVersion) replace(a *ms.Attr) *ms.Attr {
	c := *a
	c.Size, c.Mtime = v.size, v.mtime
	return &c
}

// keepPages says whether an open may keep the kernel's cached pages, and
// records that from now on they hold the current generation (the kernel
// drops them otherwise); of.mu held. A commit of this client's on its way
// may be what moved the generation on: its answer carries the pages
// forward (changed), and dropping them then is not only wasted but
// unsafe: the kernel unlocks a cached page it copied a write into before
// sending the write, so a read between the drop and the write's arrival
// here would cache the page without it.
func (of *openFile) keepPages() bool {
	keep := of.gen != 0 && (of.gen == of.pages || of.committing && of.gen == of.pages+1)
	if !keep {
		of.pages = of.gen
	}
	return keep
}

// changed takes a, the answer to a content change this client made
// (commit or truncate). The kernel's pages saw that change go through, so
// they stay current if they were current just before it; of.mu held.
func (of *openFile) changed(a *ms.Attr) {
	if of.pages+1 == a.Gen {
		of.pages = a.Gen
	}
	of.gen = max(of.gen, a.Gen)
}

// unconfirmed says whether ino has writes here that the metaservice may
// not have; the kernel must not cache its attributes meanwhile.
func (t *fileTable) unconfirmed(ino ms.Ino) bool {
	of := t.get(ino)
	if of == nil {
		return false
	}
	of.mu.Lock()
	defer of.mu.Unlock()
	return of.unconfirmed()
}
