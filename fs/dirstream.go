package fs

import (
	"sync"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// dirBatch is how many entries a directory handle asks the metaservice
// for at once. The kernel asks for one page at a time (some 25 entries
// with attributes); with the metaservice a quarter of a second away, a
// listing of 1,000 entries would take forty round trips instead of one.
const dirBatch = 1024

// dirStreams holds the listing state of open directory handles.
type dirStreams struct {
	mu      sync.Mutex // guards next and streams
	next    uint64
	streams map[uint64]*dirStream
}

// dirStream is what one open directory handle keeps of its listing: the
// entries fetched past the ones the kernel has taken. They are served to
// the kernel's next calls while it reads on from where it stopped, the
// same kind of listing (with or without attributes), and no longer than
// the attribute timeout after they were fetched, so that attributes
// handed to the kernel are never much older than the kernel's own cache
// would let them be. A directory that changes meanwhile may show, in this
// one listing, an entry that has just gone or miss one just added, as
// readdir(3) allows.
type dirStream struct {
	mu   sync.Mutex // held across the fetch: one listing call of a handle at a time
	plus bool
	from uint64 // the kernel's offset (a cookie) that ents[0] follows
	ents []ms.DirEntry
	at   time.Time
	mark answerMark // when ents were asked for
	eof  bool       // ents runs to the end of the directory
	// unused takes the entries fetched that the kernel was never given:
	// the holds their answer took go back.
	unused func([]ms.DirEntry, answerMark)
}

// open makes a handle's stream and returns the handle.
func (d *dirStreams) open(unused func([]ms.DirEntry, answerMark)) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams == nil {
		d.streams = map[uint64]*dirStream{}
	}
	d.next++
	d.streams[d.next] = &dirStream{unused: unused}
	return d.next
}

// get returns fh's stream, or nil.
func (d *dirStreams) get(fh uint64) *dirStream {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.streams[fh]
}

// close forgets fh's stream.
func (d *dirStreams) close(fh uint64) {
	d.mu.Lock()
	s := d.streams[fh]
	delete(d.streams, fh)
	d.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.drop()
		s.mu.Unlock()
	}
}

// drop gives up the entries kept; called with mu held.
func (s *dirStream) drop() {
	s.unused(s.ents, s.mark)
	s.ents, s.eof = nil, false
}

// entries returns the entries that follow offset, from the stream when it
// holds them, else from fetch (asked for dirBatch entries). The caller
// reports how many it passed to the kernel with used, under the stream's
// lock, which entries holds until then.
func (s *dirStream) entries(offset uint64, plus bool, fresh time.Duration, fetch func(limit int) ([]ms.DirEntry, answerMark, error)) ([]ms.DirEntry, answerMark, error) {
	s.mu.Lock()
	if s.plus == plus && s.from == offset && time.Since(s.at) < fresh && (len(s.ents) > 0 || s.eof) {
		return s.ents, s.mark, nil
	}
	s.drop()
	ents, mark, err := fetch(dirBatch)
	if err != nil {
		s.mu.Unlock()
		return nil, answerMark{}, err
	}
	s.plus, s.from, s.ents, s.at, s.mark, s.eof = plus, offset, ents, time.Now(), mark, len(ents) < dirBatch
	return s.ents, s.mark, nil
}

// used drops the first n entries (the kernel took them) and releases the
// stream.
func (s *dirStream) used(n int) {
	if n > 0 {
		s.from = s.ents[n-1].Cookie
		s.ents = s.ents[n:]
	}
	s.mu.Unlock()
}
