package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/lis-fs/lis/journal/diskfs"
)

// errNotStored: the LSN asked for is not (or no longer) in any segment.
var errNotStored = errors.New("LSN not stored")

// errEnd: the iterator reached the limit it was given.
var errEnd = errors.New("end of range")

const readBufferSize = 256 << 10

// iter reads records in LSN order through its own file descriptors, so
// readers never contend with appenders beyond brief snapshots of segment
// bookkeeping under Log.mu. It only reads bytes below the segment size it
// snapshotted, which are complete records. Not safe for concurrent use.
type iter struct {
	l    *Log
	seg  *segment // segment being read; nil before the first seek
	f    diskfs.File
	span spanReader
	br   *bufio.Reader
	off  int64   // offset in seg of the record LSN next
	next LSN     // LSN of the next record read returns
	held *Record // a record given back by unread; its LSN is next-1

	// Snapshot of seg, refreshed when the reader runs past it.
	end     int64
	segLast LSN
	sealed  bool
}

// spanReader reads f from off up to end, without moving any file offset.
type spanReader struct {
	f        io.ReaderAt
	off, end int64
}

func (s *spanReader) Read(p []byte) (int, error) {
	if s.off >= s.end {
		return 0, io.EOF
	}
	if int64(len(p)) > s.end-s.off {
		p = p[:s.end-s.off]
	}
	n, err := s.f.ReadAt(p, s.off)
	s.off += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

func (it *iter) close() {
	if it.f != nil {
		it.f.Close()
	}
	it.f, it.seg, it.held = nil, nil, nil
}

// findLocked returns the segment holding lsn, or nil.
func (l *Log) findLocked(lsn LSN) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > lsn }) - 1
	if i < 0 || lsn > l.segs[i].last {
		return nil
	}
	return l.segs[i]
}

// position returns the LSN read will return next.
func (it *iter) position() LSN {
	if it.held != nil {
		return it.held.LSN
	}
	return it.next
}

// seek positions the iterator at lsn, which must be stored. Errors wrap
// errNotStored or fs.ErrNotExist when the segment is gone.
func (it *iter) seek(lsn LSN) error {
	it.held = nil
	l := it.l
	l.mu.Lock()
	seg := l.findLocked(lsn)
	var off int64
	var at LSN
	if seg != nil {
		off, at = seg.hint(lsn)
	}
	l.mu.Unlock()
	if seg == nil {
		return fmt.Errorf("journal: seek LSN %d: %w", lsn, errNotStored)
	}
	if seg != it.seg {
		f, err := l.disk.fs.OpenFile(seg.path, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("journal: seek LSN %d: %w", lsn, err)
		}
		it.close()
		it.f, it.seg = f, seg
	}
	it.span = spanReader{f: it.f, off: off}
	if it.br == nil {
		it.br = bufio.NewReaderSize(&it.span, readBufferSize)
	} else {
		it.br.Reset(&it.span)
	}
	it.off, it.next = off, at
	it.refresh()
	var scratch []byte
	for it.next < lsn {
		rec, err := it.step(scratch)
		if err != nil {
			return err
		}
		scratch = rec.Data[:0]
	}
	return nil
}

// refresh snapshots the current segment's extent.
func (it *iter) refresh() {
	it.l.mu.Lock()
	it.end, it.segLast, it.sealed = it.seg.size, it.seg.last, it.seg.sealed
	it.l.mu.Unlock()
	it.span.end = it.end
}

// read returns the next record if its LSN is <= limit, or errEnd. limit must
// not exceed the log's last LSN.
func (it *iter) read(limit LSN) (Record, error) {
	if it.held != nil {
		rec := *it.held
		it.held = nil
		return rec, nil
	}
	if it.next > limit {
		return Record{}, errEnd
	}
	if it.next > it.segLast {
		it.refresh()
	}
	if it.next > it.segLast {
		if !it.sealed {
			return Record{}, fmt.Errorf("journal: read LSN %d past the active segment's end %d", it.next, it.segLast)
		}
		if err := it.seek(it.next); err != nil {
			return Record{}, err
		}
	}
	return it.step(nil)
}

// unread gives back the record read just returned, for the next read.
func (it *iter) unread(rec Record) { it.held = &rec }

// step decodes the record at it.off, which must lie within the snapshot.
func (it *iter) step(scratch []byte) (Record, error) {
	h, payload, n, err := readRecord(it.br, it.end-it.off, scratch)
	if err == nil && h.lsn != it.next {
		err = fmt.Errorf("%w: found LSN %d", errCorrupt, h.lsn)
	}
	if err != nil {
		return Record{}, fmt.Errorf("journal: read LSN %d in %s at offset %d: %w", it.next, it.seg.name(), it.off, err)
	}
	it.off += n
	it.next++
	return Record{LSN: h.lsn, Data: payload}, nil
}

// ReadFrom calls fn for every stored record with LSN >= from, in order, up
// to the LastLSN at the time of the call (durable or not). Records below
// FirstLSN are skipped; records the owner releases while ReadFrom runs may
// be skipped too. fn's error stops the replay and is returned. fn may keep
// Record.Data.
func (l *Log) ReadFrom(from LSN, fn func(Record) error) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	limit := l.last
	from = max(from, l.firstLocked())
	l.mu.Unlock()

	it := &iter{l: l}
	defer it.close()
	for from <= limit {
		var rec Record
		var err error
		if it.seg == nil || it.position() != from {
			err = it.seek(from)
		}
		if err == nil {
			rec, err = it.read(limit)
		}
		if isGone(err) {
			if first := l.FirstLSN(); first > from {
				from = first // released and deleted while we read
				continue
			}
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
		from = rec.LSN + 1
	}
	return nil
}

func isGone(err error) bool {
	return errors.Is(err, errNotStored) || errors.Is(err, fs.ErrNotExist)
}
