package journal

// Writeback. An append only reaches the page cache; the disk sees it when
// a Sync asks or when the kernel's flusher gets to it, which for a burst
// well under the dirty limits is never. A writer that streams a few
// hundred MiB and then syncs would leave all of it for that one
// fdatasync, which then takes as long as writing the whole burst did. With
// Options.WritebackBytes set, every that many bytes appended start the
// write-out of the active segment's new bytes (sync_file_range
// SYNC_FILE_RANGE_WRITE, which waits for nothing), so the disk works while
// the burst comes in and the final sync waits only for the tail. It is
// advice: durability still comes from Sync's fdatasync alone, which is
// also where write errors surface.

// noteAppendLocked asks the background goroutine for a write-out once
// WritebackBytes have been appended to the active segment since the last.
func (l *Log) noteAppendLocked(seg *segment) {
	if l.opts.WritebackBytes <= 0 {
		return
	}
	if l.wbSeg != seg {
		l.wbSeg, l.wbOff = seg, 0
	}
	if seg.size-l.wbOff >= l.opts.WritebackBytes {
		kick(l.wbKick)
	}
}

// writeback starts the write-out of the active segment's bytes appended
// since the last write-out. It runs on the background goroutine.
func (l *Log) writeback() {
	l.mu.Lock()
	seg := l.wbSeg
	if seg == nil || seg.f == nil || seg.size <= l.wbOff {
		l.mu.Unlock()
		return
	}
	from, to, f := l.wbOff, seg.size, seg.f
	l.wbOff = to
	l.mu.Unlock()
	f.StartWriteback(from, to-from) // errors are left to the fdatasync that follows
}
