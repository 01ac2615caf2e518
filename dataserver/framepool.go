package dataserver

// Write frames. A client write's data arrives in a frame: a buffer with
// room for the journal record's mutation header in front of the data, so
// that the write is journaled without another copy (encodeFramed). A frame
// lives until the applier has written the mutation into its chunk file.
//
// Frames are recycled, in two sizes. A fresh 1 MiB buffer costs 256 page
// faults the first time it is written, which made copying a write into its
// frame cost five times a memmove; and small synced writes spent an eighth
// of their CPU time allocating frames and collecting them. A sync.Pool did
// not help: it is emptied at every garbage collection, and a dataserver
// taking writes collects often. Bounded free lists keep idle frames
// instead.

// frameClass is one size of recycled frames.
type frameClass struct {
	data int         // data bytes a frame of the class holds
	free chan []byte // idle frames, full capacity
}

var frameClasses = [...]frameClass{
	{data: 8 << 10, free: make(chan []byte, 1024)}, // 8 MiB idle at most
	{data: 1 << 20, free: make(chan []byte, 16)},   // 16 MiB idle at most
}

// classFor returns the class for n bytes of data, or nil: sizes between
// the classes are rare (FUSE writes are pages or up to 1 MiB) and are
// allocated exactly.
func classFor(n int) *frameClass {
	switch {
	case n <= frameClasses[0].data:
		return &frameClasses[0]
	case n >= 64<<10 && n <= frameClasses[1].data:
		return &frameClasses[1]
	}
	return nil
}

// newFrame returns a frame for n bytes of data: f[mutationHeader:] is the
// data (its contents are not zeroed).
func newFrame(n int) []byte {
	c := classFor(n)
	if c == nil {
		return make([]byte, mutationHeader+n)
	}
	select {
	case f := <-c.free:
		return f[:mutationHeader+n]
	default:
		return make([]byte, mutationHeader+n, mutationHeader+c.data)
	}
}

// freeFrame recycles a frame from newFrame. The caller guarantees nothing
// refers to it any more.
func freeFrame(f []byte) {
	for i := range frameClasses {
		c := &frameClasses[i]
		if cap(f) != mutationHeader+c.data {
			continue
		}
		select {
		case c.free <- f[:cap(f)]:
		default: // enough idle frames; let this one go
		}
		return
	}
}
