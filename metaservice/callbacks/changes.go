package callbacks

// changeLog remembers which inodes changed most recently, numbered in
// publish order, so that a hold taken after a read can tell whether the
// inode changed between the two (see HoldSince).
type changeLog struct {
	seq   uint64            // the number of the last change
	floor uint64            // changes at or below it are forgotten
	last  map[uint64]uint64 // ino → its last change
	order []change          // ring of the last changes, oldest at head
	head  int
}

type change struct{ ino, seq uint64 }

// changeLogSize bounds what the log remembers; a read slower than this
// many changes is told its inodes changed.
const changeLogSize = 1 << 16

func (l *changeLog) note(ino uint64) {
	l.seq++
	if l.last == nil {
		l.last = map[uint64]uint64{}
	}
	l.last[ino] = l.seq
	if len(l.order) < changeLogSize {
		l.order = append(l.order, change{ino, l.seq})
		return
	}
	old := l.order[l.head]
	if l.last[old.ino] == old.seq {
		delete(l.last, old.ino)
	}
	l.floor = old.seq
	l.order[l.head] = change{ino, l.seq}
	l.head = (l.head + 1) % len(l.order)
}

// changedSince reports whether ino may have changed after change number
// since.
func (l *changeLog) changedSince(ino, since uint64) bool {
	return since < l.floor || l.last[ino] > since
}

// Mark numbers the present moment for a later HoldSince: a call that
// answers with attributes marks before it reads.
func (t *Table) Mark() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changes.seq
}

// HoldSince holds inos for sid, as Hold does, and queues sid an event for
// each one that changed after mark: the answer the holds go with was read
// before that change, and the session must not keep it.
func (t *Table) HoldSince(sid, mark uint64, inos []uint64, dirs []uint64) {
	if sid == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.session(sid)
	for _, ino := range inos {
		if ino == 0 {
			continue
		}
		t.holds[ino] = t.holds[ino].add(sid, 1)
		if t.changes.changedSince(ino, mark) {
			t.push(sid, Event{Ino: ino})
		}
	}
	for _, dir := range dirs {
		if t.changes.changedSince(dir, mark) {
			t.push(sid, Event{Ino: dir, Entry: true})
		}
	}
}
