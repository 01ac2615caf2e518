package dataserver

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// shmSlot is the size of one slot of a client's window: writes up to
	// this size go through the window (FUSE writes are at most 1 MiB).
	shmSlot = 1 << 20
	// shmSlots is how many large writes may be in flight through the
	// window at once; more are sent inline.
	shmSlots = 8
	// shmMinWrite is the smallest write sent through the window: below it
	// the copy into the request costs less than the slot bookkeeping.
	shmMinWrite = 64 << 10
)

// clientWindow is the client side of a shared-memory write window (see
// shm.go): a sealed memfd mapped read-write here and read-only by the
// dataserver, cut into shmSlots slots. conn stays open for the window's
// lifetime: closing it tells the dataserver to unmap.
type clientWindow struct {
	id   uint64
	conn *net.UnixConn
	free chan int // indexes of free slots

	mu     sync.RWMutex // staging copies hold it shared, close exclusively
	mem    []byte
	closed bool
}

// openWindow creates a window and hands it to the dataserver listening on
// the window socket at path.
func openWindow(path string) (*clientWindow, error) {
	fd, err := unix.MemfdCreate("lis-write-window", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	defer unix.Close(fd)
	size := shmSlot * shmSlots
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("size window: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return nil, fmt.Errorf("seal window: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map window: %w", err)
	}
	w := &clientWindow{mem: mem, free: make(chan int, shmSlots)}
	if err := w.handOver(path, fd); err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	for i := range shmSlots {
		w.free <- i
	}
	return w, nil
}

// handOver sends the memfd to the dataserver and reads the window's id.
func (w *clientWindow) handOver(path string, fd int) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("window socket: %w", err)
	}
	w.conn = c.(*net.UnixConn)
	fail := func(err error) error {
		w.conn.Close()
		return err
	}
	if _, _, err := w.conn.WriteMsgUnix([]byte(shmMagic), unix.UnixRights(fd), nil); err != nil {
		return fail(fmt.Errorf("send window: %w", err))
	}
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var reply [8]byte
	if _, err := io.ReadFull(w.conn, reply[:]); err != nil {
		return fail(fmt.Errorf("window reply: %w", err))
	}
	w.conn.SetReadDeadline(time.Time{})
	if w.id = binary.LittleEndian.Uint64(reply[:]); w.id == 0 {
		why, _ := io.ReadAll(io.LimitReader(w.conn, 512))
		return fail(fmt.Errorf("dataserver refused the write window: %s", why))
	}
	return nil
}

// stage copies p into a free slot and returns the slot, or false when
// every slot is busy.
func (w *clientWindow) stage(p []byte) (slot int, off int64, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return 0, 0, false
	}
	select {
	case slot = <-w.free:
	default:
		return 0, 0, false
	}
	off = int64(slot) * shmSlot
	copy(w.mem[off:], p)
	return slot, off, true
}

// release returns a slot once the dataserver is done reading it.
func (w *clientWindow) release(slot int) { w.free <- slot }

// close tells the dataserver to drop the window and unmaps it here.
// Writes still in flight are unaffected (the dataserver has its own
// mapping); later ones go inline.
func (w *clientWindow) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.conn.Close()
	unix.Munmap(w.mem)
}
