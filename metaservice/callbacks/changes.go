package callbacks

// changeLog remembers which inodes changed most recently, numbered in
// publish order, and by which session, so that a hold taken after a read
// can tell whether another session changed the inode between the two
// (see HoldSince).
type changeLog struct {
	seq   uint64                // the number of the last change
	floor uint64                // changes at or below it are forgotten
	last  map[uint64]lastChange // ino → its last changes
	order []change              // ring of the last changes, oldest at head
	head  int
}

// lastChange is an inode's last change (its number and session) and the
// last change by any other session than that one.
type lastChange struct {
	seq, origin, byOther uint64
}

type change struct{ ino, seq uint64 }

// changeLogSize bounds what the log remembers; a read slower than this
// many changes is told its inodes changed.
const changeLogSize = 1 << 16

func (l *changeLog) note(ino, origin uint64) {
	l.seq++
	if l.last == nil {
		l.last = map[uint64]lastChange{}
	}
	c, ok := l.last[ino]
	if ok && c.origin != origin {
		c.byOther = c.seq
	}
	c.seq, c.origin = l.seq, origin
	l.last[ino] = c
	if len(l.order) < changeLogSize {
		l.order = append(l.order, change{ino, l.seq})
		return
	}
	old := l.order[l.head]
	if l.last[old.ino].seq == old.seq {
		delete(l.last, old.ino)
	}
	l.floor = old.seq
	l.order[l.head] = change{ino, l.seq}
	l.head = (l.head + 1) % len(l.order)
}

// changedSince reports whether ino may have changed, by another session
// than sid, after change number since.
func (l *changeLog) changedSince(ino, since, sid uint64) bool {
	if since < l.floor {
		return true
	}
	c := l.last[ino]
	if c.origin != sid {
		return c.seq > since
	}
	return c.byOther > since
}

// Mark numbers the present moment for a later HoldSince: a call that
// answers with attributes marks before it reads.
func (t *Table) Mark() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changes.seq
}

// HoldSince holds inos for sid, as Hold does, and queues sid an event for
// each one another session changed after mark: the answer the holds go
// with may have been read before that change, and the session must not
// keep it. (Its own changes it hears of in its calls' answers.)
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
		if t.changes.changedSince(ino, mark, sid) {
			t.push(sid, Event{Ino: ino})
		}
	}
	for _, dir := range dirs {
		if t.changes.changedSince(dir, mark, sid) {
			t.push(sid, Event{Ino: dir, Entry: true})
		}
	}
}
