package journal

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Append appends one record and returns its LSN. It returns as soon as the
// record is in the page cache: it is NOT durable until a Sync covering its
// LSN returns (or the background sync gets to it). Records get consecutive
// LSNs in the order Append calls take the log's lock.
func (l *Log) Append(data []byte) (LSN, error) {
	return l.AppendBatch([][]byte{data})
}

// AppendBatch appends records with consecutive LSNs in one write and returns
// the first LSN; on error none of them is appended. An empty batch returns
// (0, nil). A batch is never split across segments.
func (l *Log) AppendBatch(datas [][]byte) (LSN, error) {
	if len(datas) == 0 {
		return 0, nil
	}
	crcs := make([]uint32, len(datas))
	total := int64(0)
	for i, d := range datas {
		if len(d) > MaxRecordSize {
			return 0, fmt.Errorf("journal: record of %d bytes exceeds %d: %w", len(d), MaxRecordSize, unix.EFBIG)
		}
		crcs[i] = payloadCRC(d)
		total += recordHeaderSize + int64(len(d))
	}
	hdrs := make([]byte, recordHeaderSize*len(datas))
	iovs := make([][]byte, 0, 2*len(datas))

	l.mu.Lock()
	first, err := l.appendLocked(datas, crcs, hdrs, iovs, total)
	name, size, over := l.overLimitLocked()
	l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if over {
		l.opts.OverLimit(name, size)
	}
	return first, nil
}

func (l *Log) appendLocked(datas [][]byte, crcs []uint32, hdrs []byte, iovs [][]byte, total int64) (LSN, error) {
	if err := l.usableLocked(); err != nil {
		return 0, err
	}
	seg := l.segs[len(l.segs)-1]
	if seg.size+total > l.opts.SegmentSize && seg.last >= seg.first {
		if err := l.rollLocked(); err != nil {
			return 0, err
		}
		seg = l.segs[len(l.segs)-1]
	}
	first := l.last + 1
	for i, d := range datas {
		h := hdrs[i*recordHeaderSize : (i+1)*recordHeaderSize]
		encodeHeader(h, len(d), first+LSN(i), l.durable, crcs[i])
		iovs = append(iovs, h, d)
	}
	if _, err := seg.f.WritevAt(iovs, seg.size); err != nil {
		// Take back whatever part of the batch reached the file, so the
		// next append starts on a record boundary.
		if terr := seg.f.Truncate(seg.size); terr != nil {
			l.err = fmt.Errorf("journal: undo failed append to %s: %w", seg.name(), terr)
		}
		return 0, fmt.Errorf("journal: append to %s: %w", seg.name(), err)
	}
	off := seg.size
	for i, d := range datas {
		seg.noteRecord(first+LSN(i), off)
		off += recordHeaderSize + int64(len(d))
	}
	seg.size += total
	l.noteAppendLocked(seg)
	seg.last = first + LSN(len(datas)) - 1
	l.last = seg.last
	l.size += total
	if l.tailing > 0 {
		kick(l.syncKick) // a consumer waits for this record to become durable
	}
	return first, nil
}

// rollLocked seals the active segment and starts a new one. The sealed
// segment's file stays open until the next sync has made it durable.
func (l *Log) rollLocked() error {
	old := l.segs[len(l.segs)-1]
	seg, err := createSegment(l.disk, l.last+1, l.opts.SegmentSize)
	if err != nil {
		return err
	}
	old.sealed = true
	l.unsynced = append(l.unsynced, old)
	l.segs = append(l.segs, seg)
	l.dirDirty = true
	l.size += seg.size
	return nil
}
