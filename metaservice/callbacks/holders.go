package callbacks

// add returns h with sid's count changed by d (a count never goes below
// zero). n is the number of holding sessions.
func (h holders) add(sid uint64, d int64) holders {
	switch {
	case h.n == 0:
		if d > 0 {
			return holders{session: sid, n: 1, more: h.more, count1: clampCount(d)}
		}
		return h
	case h.session == sid:
		c := int64(h.count1) + d
		if c > 0 {
			h.count1 = clampCount(c)
			return h
		}
		return h.promote()
	}
	c := int64(h.more[sid]) + d
	if c <= 0 {
		if _, ok := h.more[sid]; ok {
			delete(h.more, sid)
			h.n--
		}
		return h
	}
	if h.more == nil {
		h.more = map[uint64]uint32{}
	}
	if _, ok := h.more[sid]; !ok {
		h.n++
	}
	h.more[sid] = clampCount(c)
	return h
}

// promote drops the inline holder and moves one of the others inline.
func (h holders) promote() holders {
	for sid, c := range h.more {
		delete(h.more, sid)
		return holders{session: sid, count1: c, n: h.n - 1, more: h.more}
	}
	return holders{}
}

func clampCount(c int64) uint32 { return uint32(min(c, 1<<32-1)) }

// holds reports whether sid holds the inode.
func (h holders) holds(sid uint64) bool { return h.count(sid) > 0 }

// count is sid's count of holds.
func (h holders) count(sid uint64) uint32 {
	if h.n > 0 && h.session == sid {
		return h.count1
	}
	return h.more[sid]
}

// each calls fn for every holding session.
func (h holders) each(fn func(sid uint64)) {
	if h.n == 0 {
		return
	}
	fn(h.session)
	for sid := range h.more {
		fn(sid)
	}
}
