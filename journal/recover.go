package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Recovery describes what Open found on disk and what it repaired.
type Recovery struct {
	Segments int // segment files kept
	FirstLSN LSN // first stored record (LastLSN+1 when none)
	LastLSN  LSN

	// Set when a torn or corrupt tail was cut off.
	TruncatedSegment string   // file name of the segment that was cut
	TruncatedAt      int64    // offset it was cut at
	DiscardedBytes   int64    // bytes removed, removed segments included
	RemovedSegments  []string // later segment files deleted with the tail
	Reason           string   // what was wrong at TruncatedAt
}

// CorruptError reports damage that Open must not repair by truncation,
// because records at or after it are known to have been acknowledged as
// durable: cutting there would silently drop acknowledged data.
type CorruptError struct {
	Segment  string // segment file name
	Offset   int64  // byte offset of the first unreadable record
	LSN      LSN    // LSN expected there
	Reason   string // what is wrong with the bytes
	Evidence string // why the data there is known to have been durable
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: segment %s offset %d: record LSN %d unreadable (%s), but %s",
		e.Segment, e.Offset, e.LSN, e.Reason, e.Evidence)
}

// damage is the first point where the files stop being a valid, contiguous
// sequence of records.
type damage struct {
	idx    int   // index (in the sorted file list) of the segment holding it
	off    int64 // where the valid prefix of that segment ends
	lsn    LSN   // the LSN that should have been there
	reason string
}

// recoverSegments scans every segment file of dir in order, verifying each
// record, and repairs a torn tail. Records up to known were durable (the
// state file said so); damage there is reported as a CorruptError. (Consumer
// positions need no separate check: every saved state has Durable >= each
// position it saves.)
//
// It returns the segments (all sealed, no open files; the caller opens the
// last one for appending). Every kept file has been fdatasync'd, so records
// the crashed process had only written to the page cache are now durable.
func recoverSegments(dir logDir, known LSN) ([]*segment, Recovery, error) {
	var rec Recovery
	firsts, err := listSegments(dir)
	if err != nil {
		return nil, rec, err
	}
	var segs []*segment
	var dmg *damage
	for i, first := range firsts {
		if n := len(segs); n > 0 && first != segs[n-1].last+1 {
			prev := segs[n-1]
			dmg = &damage{idx: i - 1, off: prev.size, lsn: prev.last + 1,
				reason: fmt.Sprintf("next segment %s starts at LSN %d", segmentName(first), first)}
			break
		}
		seg, d, err := scanSegment(dir, first)
		if err != nil {
			return nil, rec, err
		}
		segs = append(segs, seg)
		if d != nil {
			d.idx = i
			dmg = d
			break
		}
	}
	if dmg != nil {
		if err := repairTail(dir, segs, firsts, dmg, known, &rec); err != nil {
			return nil, rec, err
		}
	}
	rec.Segments = len(segs)
	return segs, rec, nil
}

// scanSegment reads and verifies one segment file. Damage is returned as a
// *damage (with the segment's valid prefix described by the segment);
// I/O errors and inconsistencies truncation cannot explain are errors.
func scanSegment(dir logDir, first LSN) (*segment, *damage, error) {
	path := dir.join(segmentName(first))
	f, err := dir.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("journal: stat %s: %w", path, err)
	}
	seg := &segment{first: first, last: first - 1, size: 0, path: path, sealed: true}
	d, err := scanRecords(f, fi.Size(), seg)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: scan %s: %w", path, err)
	}
	// Durable now, before anything is derived from it (see recoverSegments).
	if err := f.SyncData(); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	return seg, d, nil
}

// scanRecords walks the header and records of f (fileSize bytes), extending
// seg over every valid record.
func scanRecords(f io.ReaderAt, fileSize int64, seg *segment) (*damage, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, fileSize), 1<<20)
	hb := make([]byte, segHeaderSize)
	n, err := io.ReadFull(br, hb)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	hf, err := decodeSegHeader(hb[:n])
	if isDamage(err) {
		return &damage{off: 0, lsn: seg.first, reason: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	if hf != seg.first {
		return nil, fmt.Errorf("header says first LSN %d, file name says %d", hf, seg.first)
	}
	seg.size = segHeaderSize
	var scratch []byte
	for seg.size < fileSize {
		h, payload, n, err := readRecord(br, fileSize-seg.size, scratch)
		if isDamage(err) {
			return &damage{off: seg.size, lsn: seg.last + 1, reason: err.Error()}, nil
		}
		if err != nil {
			return nil, err
		}
		if h.lsn != seg.last+1 {
			return &damage{off: seg.size, lsn: seg.last + 1,
				reason: fmt.Sprintf("found LSN %d", h.lsn)}, nil
		}
		scratch = payload[:0]
		seg.noteRecord(h.lsn, seg.size)
		seg.last = h.lsn
		seg.size += n
	}
	return nil, nil
}

// repairTail decides whether damage is a torn tail (cut it off) or lost
// acknowledged data (a *CorruptError), and cuts. segs ends with the damaged
// segment; firsts lists every segment file.
func repairTail(dir logDir, segs []*segment, firsts []LSN, d *damage, known LSN, rec *Recovery) error {
	seg := segs[len(segs)-1]
	cerr := &CorruptError{Segment: seg.name(), Offset: d.off, LSN: d.lsn, Reason: d.reason}
	if known >= d.lsn {
		cerr.Evidence = fmt.Sprintf("the state file recorded LSN %d as durable", known)
		return cerr
	}
	later := firsts[d.idx+1:]
	ev, err := findSyncedAfter(dir, seg, d, later)
	if err != nil {
		return err
	}
	if ev != "" {
		cerr.Evidence = ev
		return cerr
	}
	return cutTail(dir, seg, d, later, rec)
}

// findSyncedAfter looks past the damage, in the rest of the damaged segment
// and in every later segment file, for any intact record whose synced field
// shows that LSN d.lsn had been made durable. It scans byte by byte, since
// the damage may have destroyed the framing, one file in memory at a time.
// It returns a description of the proof, or "".
func findSyncedAfter(dir logDir, seg *segment, d *damage, later []LSN) (string, error) {
	type region struct {
		path string
		from int64
	}
	regions := []region{{seg.path, d.off + 1}}
	for _, first := range later {
		regions = append(regions, region{dir.join(segmentName(first)), 0})
	}
	var total int64
	for _, r := range regions {
		fi, err := dir.fs.Stat(r.path)
		if err != nil {
			return "", fmt.Errorf("journal: %w", err)
		}
		total += max(fi.Size()-r.from, 0)
	}
	// No record past the damage can have an LSN beyond this.
	maxLSN := d.lsn + LSN(total/recordHeaderSize) + 1
	for _, r := range regions {
		b, err := diskfs.ReadFile(dir.fs, r.path)
		if err != nil {
			return "", fmt.Errorf("journal: read %s: %w", r.path, err)
		}
		from := min(r.from, int64(len(b)))
		if at, h, ok := findProof(b[from:], d.lsn, maxLSN); ok {
			return fmt.Sprintf("record LSN %d at %s offset %d was appended after LSN %d was durable",
				h.lsn, filepath.Base(r.path), from+int64(at), h.synced), nil
		}
	}
	return "", nil
}

// findProof returns the first intact record in b whose synced field is at
// least lsn. Candidates must have an LSN in (lsn, maxLSN]: payload bytes
// almost never look like that, which keeps the scan cheap.
func findProof(b []byte, lsn, maxLSN LSN) (int, recordHeader, bool) {
	for p := 0; p+recordHeaderSize <= len(b); p++ {
		synced := LSN(binary.LittleEndian.Uint64(b[p+16:]))
		if synced < lsn {
			continue
		}
		if l := LSN(binary.LittleEndian.Uint64(b[p+8:])); l <= lsn || l > maxLSN {
			continue
		}
		if h, _, _, err := decodeRecord(b[p:]); err == nil {
			return p, h, true
		}
	}
	return 0, recordHeader{}, false
}

// cutTail truncates the damaged segment to its valid prefix (rewriting its
// header if that was the damage) and deletes every later segment file.
func cutTail(dir logDir, seg *segment, d *damage, later []LSN, rec *Recovery) error {
	f, err := dir.fs.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: open %s: %w", seg.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: stat %s: %w", seg.path, err)
	}
	cut := d.off
	if cut < segHeaderSize {
		cut = 0
	}
	if err := f.Truncate(cut); err != nil {
		return fmt.Errorf("journal: truncate %s at %d: %w", seg.path, cut, err)
	}
	if cut == 0 {
		if _, err := f.WriteAt(encodeSegHeader(seg.first), 0); err != nil {
			return fmt.Errorf("journal: rewrite header of %s: %w", seg.path, err)
		}
		seg.size, seg.last, seg.index = segHeaderSize, seg.first-1, nil
	}
	if err := f.SyncData(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	rec.TruncatedSegment, rec.TruncatedAt, rec.Reason = seg.name(), d.off, d.reason
	rec.DiscardedBytes = fi.Size() - d.off
	for _, first := range later {
		p := dir.join(segmentName(first))
		if fi, err := dir.fs.Stat(p); err == nil {
			rec.DiscardedBytes += fi.Size()
		}
		if err := dir.fs.Remove(p); err != nil {
			return fmt.Errorf("journal: remove %s: %w", p, err)
		}
		rec.RemovedSegments = append(rec.RemovedSegments, segmentName(first))
	}
	if err := dir.sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
