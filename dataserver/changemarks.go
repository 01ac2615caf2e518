package dataserver

import (
	"math"
	"slices"
	"time"
)

// changeMarks remembers when a chunk's recent versions were made and how
// many bytes they wrote, so that a replica's lag can be told in seconds
// and bytes from nothing but the version it acknowledged (lis status).
// Marks are coarse (at most one per changeMarkSpan) and few
// (maxChangeMarks): when they are full the two closest in time merge, so
// a lag is never under-stated, only rounded up to the span it falls in.
// The census drops a chunk's marks once every replica holds its version.
//
// Invariants: marks ascend in version and time; before <= total.
type changeMarks struct {
	marks []changeMark
	total int64 // bytes written since the first mark
}

// changeMark opens a span of versions.
type changeMark struct {
	version uint64 // first version of the span
	at      int64  // when it was made, Unix nanoseconds
	before  int64  // total before it
}

const (
	maxChangeMarks = 16
	changeMarkSpan = time.Second
)

// note records that version was made at now by a mutation writing n bytes.
func (c *changeMarks) note(version uint64, n int64, now time.Time) {
	t := now.UnixNano()
	if k := len(c.marks); k == 0 || t-c.marks[k-1].at >= int64(changeMarkSpan) {
		c.marks = append(c.marks, changeMark{version: version, at: t, before: c.total})
		if len(c.marks) > maxChangeMarks {
			c.merge()
		}
	}
	c.total += n
}

// merge removes the inner mark whose removal widens a span the least.
func (c *changeMarks) merge() {
	best, gap := 1, int64(math.MaxInt64)
	for i := 1; i < len(c.marks)-1; i++ {
		if g := c.marks[i+1].at - c.marks[i-1].at; g < gap {
			best, gap = i, g
		}
	}
	c.marks = slices.Delete(c.marks, best, best+1)
}

// lag is what a copy lacks of a chunk.
type lag struct {
	bytes int64 // written since the copy's version (an upper bound)
	since int64 // when its first missing version was made, Unix ns; 0 if unknown
	// exact is false when the copy is older than the marks remember (a
	// restart, or writes before the chunk's replicas were known): bytes
	// is then at least the chunk's size.
	exact bool
}

// behind returns what a copy at version acked lacks of the chunk at
// version cur and size size.
func (c *changeMarks) behind(acked, cur uint64, size int64) lag {
	if acked >= cur {
		return lag{exact: true}
	}
	i := len(c.marks) - 1
	for i >= 0 && c.marks[i].version > acked+1 {
		i--
	}
	if i < 0 {
		l := lag{bytes: max(size, c.total)}
		if len(c.marks) > 0 {
			l.since = c.marks[0].at
		}
		return l
	}
	return lag{bytes: c.total - c.marks[i].before, since: c.marks[i].at, exact: true}
}

// reset forgets every mark: every copy holds the chunk's version.
func (c *changeMarks) reset() { *c = changeMarks{} }

// writtenBytes is how many bytes of data m writes.
func writtenBytes(m *Mutation) int64 {
	switch m.Op {
	case OpWrite, OpAppend, OpResyncData, OpPatch:
		return int64(len(m.Data))
	}
	return 0
}
