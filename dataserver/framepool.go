package dataserver

// Write frames. A client write's data arrives in a frame: a buffer with
// room for the journal record's mutation header in front of the data, so
// that the write is journaled without another copy (encodeFramed). A frame
// lives until the applier has written the mutation into its chunk file.
//
// Frames for large writes are recycled. A fresh 1 MiB buffer costs 256
// page faults the first time it is written, which made copying a write
// into its frame cost five times a memmove. A sync.Pool did not help: it
// is emptied at every garbage collection, and a dataserver taking large
// writes collects often. The free list keeps a bounded number of frames
// instead.

// pooledFrameData is the data size of a recycled frame: writes from 64 KiB
// up to it (FUSE writes are at most 1 MiB) get one.
const pooledFrameData = 1 << 20

// freeFrames holds at most this many idle frames (16 MiB).
const maxFreeFrames = 16

var freeFrames = make(chan []byte, maxFreeFrames)

// newFrame returns a frame for n bytes of data: f[mutationHeader:] is the
// data (its contents are not zeroed).
func newFrame(n int) []byte {
	if n < 64<<10 || n > pooledFrameData {
		return make([]byte, mutationHeader+n)
	}
	select {
	case f := <-freeFrames:
		return f[:mutationHeader+n]
	default:
		return make([]byte, mutationHeader+n, mutationHeader+pooledFrameData)
	}
}

// freeFrame recycles a frame from newFrame. The caller guarantees nothing
// refers to it any more.
func freeFrame(f []byte) {
	if cap(f) != mutationHeader+pooledFrameData {
		return
	}
	select {
	case freeFrames <- f[:cap(f)]:
	default: // enough idle frames; let this one go
	}
}
