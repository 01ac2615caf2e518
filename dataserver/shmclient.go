package dataserver

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
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
	free chan int    // indexes of free slots
	gone atomic.Bool // the dataserver closed the window's connection: it exited

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
	go w.watch()
	return w, nil
}

// watch notes when the dataserver's end of the window connection closes.
// The dataserver sends nothing after its reply, so any read returning
// means it is gone; the read also ends when close closes the connection,
// which ends the goroutine.
func (w *clientWindow) watch() {
	var b [1]byte
	w.conn.Read(b[:])
	w.gone.Store(true)
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

// windowKeeper holds a Client's window to a co-located dataserver and
// replaces it once that dataserver restarts: a window lives in one
// dataserver process, and a restarted one, which never saw it, would
// refuse every write through it (EBADF). Without a window, writes go
// inline, so a failure to open one costs speed, never a write.
type windowKeeper struct {
	path string // the window socket

	mu      sync.Mutex // guards w and retryAt
	w       *clientWindow
	retryAt time.Time // no new window before this, after a failed attempt
}

// windowRetry is how long after a failed attempt a window is tried again.
const windowRetry = time.Second

// get returns the open window, opening one if there is none (at most
// once per windowRetry); nil means write inline.
func (k *windowKeeper) get() *clientWindow {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.w != nil && k.w.gone.Load() {
		k.w.close()
		k.w = nil
	}
	if k.w == nil && !time.Now().Before(k.retryAt) {
		w, err := openWindow(k.path)
		if err != nil {
			k.retryAt = time.Now().Add(windowRetry)
			return nil
		}
		k.w = w
	}
	return k.w
}

// drop closes w if it is still the current window: a write through it was
// refused because the dataserver does not know it.
func (k *windowKeeper) drop(w *clientWindow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.w == w {
		k.w.close()
		k.w = nil
	}
}

// close closes the current window for good.
func (k *windowKeeper) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.w != nil {
		k.w.close()
	}
	k.w, k.retryAt = nil, time.Unix(1<<40, 0)
}
