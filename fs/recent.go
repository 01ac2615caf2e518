package fs

import ms "github.com/lis-fs/lis/metaservice"

// recentEvents numbers the changes this client heard of (invalidations,
// and its own calls' changes) and remembers the last ones of each inode
// recently touched, so that an answer read before a change it crossed on
// the way is not cached long. A call's own changes do not count against
// its own answer, which was read after them.
type recentEvents struct {
	applied uint64 // changes noted
	floor   uint64 // changes at or below it are forgotten
	last    map[ms.Ino]recentNote
	order   []ms.Ino
}

// recentNote is an inode's last changes: by the call ownCall (the newest
// change of a call of this client), and by anything else.
type recentNote struct {
	other   uint64
	own     uint64
	ownCall uint64
}

// recentSize bounds the changes remembered; a call slower than this many
// changes is not cached long.
const recentSize = 4096

// note records a change of ino, made by this client's call (0: by
// another client).
func (r *recentEvents) note(ino ms.Ino, call uint64) {
	r.applied++
	if r.last == nil {
		r.last = map[ms.Ino]recentNote{}
	}
	n := r.last[ino]
	switch {
	case call == 0:
		n.other = r.applied
	case n.ownCall != 0 && n.ownCall != call:
		// The earlier call's change counts against every call now.
		n.other = max(n.other, n.own)
		fallthrough
	default:
		n.own, n.ownCall = r.applied, call
	}
	r.last[ino] = n
	r.order = append(r.order, ino)
	if len(r.order) > recentSize {
		r.forgetOldest()
	}
}

func (r *recentEvents) forgetOldest() {
	old := r.order[0]
	r.order = r.order[1:]
	r.floor++
	if n := r.last[old]; max(n.other, n.own) <= r.floor {
		delete(r.last, old)
	}
}

// since reports whether ino may have changed, other than by call, after
// the start-th change.
func (r *recentEvents) since(ino ms.Ino, start, call uint64) bool {
	if start < r.floor {
		return true
	}
	n := r.last[ino]
	return n.other > start || (n.own > start && n.ownCall != call)
}

// forgetAll makes every answer asked for so far count as crossed.
func (r *recentEvents) forgetAll() { r.floor = r.applied }
