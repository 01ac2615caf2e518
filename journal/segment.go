package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Segment file layout: a 32-byte header, then records back to back.
//
//	offset size field
//	0      8    magic "LISJRNL\x00"
//	8      4    format version (1)
//	12     4    CRC32C of bytes 0..12 and 16..32
//	16     8    LSN of the segment's first record
//	24     8    reserved, zero
//
// A segment file is named after its first LSN, zero-padded so that names
// sort in LSN order: 00000000000000000001.seg.
const (
	segHeaderSize = 32
	segVersion    = 1
	segSuffix     = ".seg"

	// indexInterval is the spacing of a segment's sparse in-memory index:
	// positioning a reader costs at most this many bytes of scanning.
	indexInterval = 1 << 20
)

var segMagic = [8]byte{'L', 'I', 'S', 'J', 'R', 'N', 'L', 0}

// segment is one file of the log. Fields are guarded by Log.mu.
//
// Invariants: last >= first-1 (last == first-1 when empty); size is the
// length of the header plus every complete record, so bytes [0, size) of the
// file are valid; index is sorted by lsn and offset. Only the last segment of
// a Log is unsealed (appended to). f is open from creation until the segment
// has been sealed and synced; readers open their own descriptors.
type segment struct {
	first  LSN
	last   LSN
	size   int64
	path   string
	index  []indexEntry
	f      diskfs.File
	sealed bool
	gone   bool // removed from the log; the file is (being) deleted
}

// indexEntry says that the record lsn starts at byte off of the segment.
type indexEntry struct {
	lsn LSN
	off int64
}

func segmentName(first LSN) string {
	return fmt.Sprintf("%020d%s", uint64(first), segSuffix)
}

// parseSegmentName returns the first LSN encoded in a segment file name.
func parseSegmentName(name string) (LSN, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 {
		return 0, false
	}
	return LSN(n), true
}

// listSegments returns the first LSNs of the segment files in dir, sorted.
func listSegments(dir logDir) ([]LSN, error) {
	ents, err := dir.fs.ReadDir(dir.path)
	if err != nil {
		return nil, fmt.Errorf("journal: list %s: %w", dir.path, err)
	}
	var firsts []LSN
	for _, e := range ents {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	return firsts, nil
}

func encodeSegHeader(first LSN) []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic[:])
	binary.LittleEndian.PutUint32(b[8:], segVersion)
	binary.LittleEndian.PutUint64(b[16:], uint64(first))
	binary.LittleEndian.PutUint32(b[12:], segHeaderCRC(b))
	return b
}

func segHeaderCRC(b []byte) uint32 {
	return crc32.Update(crc32.Checksum(b[:12], castagnoli), castagnoli, b[16:segHeaderSize])
}

// decodeSegHeader returns the first LSN a segment header records. Damage
// wraps errCorrupt or errTruncated.
func decodeSegHeader(b []byte) (LSN, error) {
	if len(b) < segHeaderSize {
		return 0, fmt.Errorf("%w: segment header has %d bytes", errTruncated, len(b))
	}
	if [8]byte(b[:8]) != segMagic {
		return 0, fmt.Errorf("%w: bad segment magic %q", errCorrupt, b[:8])
	}
	if crc := binary.LittleEndian.Uint32(b[12:]); crc != segHeaderCRC(b) {
		return 0, fmt.Errorf("%w: segment header checksum", errCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != segVersion {
		return 0, fmt.Errorf("journal: unsupported segment format version %d", v)
	}
	return LSN(binary.LittleEndian.Uint64(b[16:])), nil
}

// createSegment creates the file for a new, empty segment whose first record
// will be first, and reserves room for sizeHint bytes. The file is not
// synced; neither is the directory entry (the caller's next sync does both).
func createSegment(dir logDir, first LSN, sizeHint int64) (*segment, error) {
	path := dir.join(segmentName(first))
	f, err := dir.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: create segment: %w", err)
	}
	if _, err := f.WriteAt(encodeSegHeader(first), 0); err != nil {
		f.Close()
		dir.fs.Remove(path)
		return nil, fmt.Errorf("journal: write header of %s: %w", path, err)
	}
	s := &segment{first: first, last: first - 1, size: segHeaderSize, path: path, f: f}
	if err := s.reserve(sizeHint); err != nil {
		f.Close()
		dir.fs.Remove(path)
		return nil, err
	}
	return s, nil
}

// reserve preallocates disk blocks beyond the end of the file without
// changing its size, so appends into the segment do not allocate (fewer
// metadata updates per fdatasync, and no ENOSPC halfway through a record).
// It is best effort: a file system without fallocate, or without room for the
// whole reservation, still gets appends that fail cleanly one by one.
func (s *segment) reserve(n int64) error {
	if n <= s.size {
		return nil
	}
	err := s.f.Allocate(0, n)
	if err == nil || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSPC) {
		return nil
	}
	return fmt.Errorf("journal: reserve %d bytes for %s: %w", n, s.path, err)
}

// noteRecord updates the sparse index for a record about to be placed at off.
func (s *segment) noteRecord(lsn LSN, off int64) {
	prev := int64(segHeaderSize)
	if n := len(s.index); n > 0 {
		prev = s.index[n-1].off
	}
	if off-prev >= indexInterval {
		s.index = append(s.index, indexEntry{lsn: lsn, off: off})
	}
}

// hint returns a record boundary at or before lsn: the offset and LSN of the
// nearest indexed record not after it. lsn must be in the segment.
func (s *segment) hint(lsn LSN) (int64, LSN) {
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].lsn > lsn })
	if i == 0 {
		return segHeaderSize, s.first
	}
	return s.index[i-1].off, s.index[i-1].lsn
}

func (s *segment) name() string { return filepath.Base(s.path) }
