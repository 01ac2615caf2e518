package dataserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/peer"
)

// Shared-memory write windows. Over gRPC a 1 MiB write is cut into 64
// HTTP/2 frames and copied four times on its way in; that, not the disk,
// bounded what the co-located client could write. A co-located client may
// therefore hand the dataserver a window: a sealed memfd, passed over a
// unix socket next to the RPC socket (the RPC socket's path plus
// shmSuffix) with SCM_RIGHTS, that both map. A large write then copies its
// data into a slot of the window and names the slot in the WriteReq (Shm,
// ShmOff, ShmLen) instead of carrying the bytes; the RPC itself still goes
// over the Writes stream.
//
// The dataserver only ever reads a window, and copies the named bytes into
// its own memory before checking their checksum, so a client that changes
// a slot while a write is in flight gets EBADMSG, never a journal record
// that disagrees with its checksum. The window must be sealed against
// shrinking: reading a mapping past the end of its file would kill the
// dataserver with SIGBUS. A window lives as long as the connection it came
// on: when the client closes it (or dies) the dataserver unmaps the window
// once the copies in progress are done.

const (
	// shmSuffix names the window socket after the RPC socket.
	shmSuffix = ".data"
	// shmMagic opens the one message a client sends on the window socket.
	shmMagic = "LISWIN01"
	// shmMaxWindow bounds the window a client may hand over.
	shmMaxWindow = 1 << 30
)

// shmWindows accepts and keeps the windows of co-located clients. Its
// accept loop and one goroutine per connected client are owned by it and
// end with close.
type shmWindows struct {
	log *slog.Logger
	l   net.Listener
	wg  sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	windows map[uint64]*shmWindow
	conns   map[net.Conn]struct{}
	closed  bool
}

// shmWindow is one client's window as mapped (read-only) here.
type shmWindow struct {
	mem  []byte
	refs int // copies in progress, plus one while the client is connected
}

// listenShm opens the window socket at path and starts accepting.
func listenShm(path string, log *slog.Logger) (*shmWindows, error) {
	l, err := msgrpc.Listen("unix:" + path)
	if err != nil {
		return nil, err
	}
	w := &shmWindows{log: log, l: l, windows: make(map[uint64]*shmWindow), conns: make(map[net.Conn]struct{})}
	w.wg.Add(1)
	go w.accept()
	return w, nil
}

func (w *shmWindows) accept() {
	defer w.wg.Done()
	for {
		c, err := w.l.Accept()
		if err != nil {
			return // closed
		}
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			c.Close()
			return
		}
		w.conns[c] = struct{}{}
		w.wg.Add(1)
		w.mu.Unlock()
		go w.serveConn(c.(*net.UnixConn))
	}
}

// serveConn registers the window a client sends, answers with its id (or
// 0 and the reason), and drops the window when the connection ends.
func (w *shmWindows) serveConn(c *net.UnixConn) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		delete(w.conns, c)
		w.mu.Unlock()
		c.Close()
	}()
	mem, err := receiveWindow(c)
	if err != nil {
		w.log.Warn("refused a shared-memory write window", "err", err)
		reply := binary.LittleEndian.AppendUint64(nil, 0)
		c.Write(append(reply, err.Error()...))
		return
	}
	id := w.register(mem)
	defer w.unref(id)
	if _, err := c.Write(binary.LittleEndian.AppendUint64(nil, id)); err != nil {
		return
	}
	io.Copy(io.Discard, c) // until the client closes or dies
}

// receiveWindow reads the client's message and maps the memfd it carries.
func receiveWindow(c *net.UnixConn) ([]byte, error) {
	buf := make([]byte, len(shmMagic))
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("read window message: %w", err)
	}
	fds, err := socketRights(oob[:oobn])
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	switch {
	case err != nil:
		return nil, err
	case string(buf[:n]) != shmMagic:
		return nil, fmt.Errorf("window message %q is not %q", buf[:n], shmMagic)
	case len(fds) != 1:
		return nil, fmt.Errorf("window message carries %d descriptors, want 1", len(fds))
	}
	return mapWindow(fds[0])
}

func socketRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("window message control data: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue // not SCM_RIGHTS
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// mapWindow checks that fd is a regular file of sane size sealed against
// shrinking, and maps it read-only.
func mapWindow(fd int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat window: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size <= 0 || st.Size > shmMaxWindow {
		return nil, fmt.Errorf("window is not a regular file of 1 byte to %d bytes (mode %o, size %d)", shmMaxWindow, st.Mode, st.Size)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("window is not sealed against shrinking (seals %#x, %v)", seals, err)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map window: %w", err)
	}
	return mem, nil
}

// register keeps a client's window and returns its id.
//
// Ids are random, not counted: every client of the unix socket can name
// any id in a write, and a guessable one would let it write another
// client's window (data that client had not sent yet) into its own chunk.
func (w *shmWindows) register(mem []byte) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		var b [8]byte
		rand.Read(b[:]) // never fails (crypto/rand)
		id := binary.LittleEndian.Uint64(b[:])
		if id != 0 && w.windows[id] == nil {
			w.windows[id] = &shmWindow{mem: mem, refs: 1}
			return id
		}
	}
}

// unref drops a reference to window id, unmapping it with the last one.
func (w *shmWindows) unref(id uint64) {
	w.mu.Lock()
	win := w.windows[id]
	win.refs--
	if win.refs > 0 {
		w.mu.Unlock()
		return
	}
	delete(w.windows, id)
	w.mu.Unlock()
	if err := unix.Munmap(win.mem); err != nil {
		w.log.Error("unmap a write window", "err", err)
	}
}

// copyOut copies len(dst) bytes at off of window id into dst.
func (w *shmWindows) copyOut(id uint64, off int64, dst []byte) error {
	w.mu.Lock()
	win := w.windows[id]
	if win == nil {
		w.mu.Unlock()
		return fmt.Errorf("write window %d is not open (its client disconnected?): %w", id, syscall.EBADF)
	}
	win.refs++
	w.mu.Unlock()
	defer w.unref(id)
	if off < 0 || off > int64(len(win.mem))-int64(len(dst)) {
		return fmt.Errorf("write window %d: %d bytes at %d outside its %d bytes: %w", id, len(dst), off, len(win.mem), syscall.EINVAL)
	}
	copy(dst, win.mem[off:])
	return nil
}

// close stops accepting, disconnects every client and waits for their
// goroutines, which unmap the windows no copy is using.
func (w *shmWindows) close() {
	w.mu.Lock()
	w.closed = true
	for c := range w.conns {
		c.Close()
	}
	w.mu.Unlock()
	w.l.Close()
	w.wg.Wait()
}

// loadShm replaces a write's window reference with a private copy of the
// data, in a frame with room for the journal header (see WriteReq.frame).
func (s *Server) loadShm(ctx context.Context, r *WriteReq) error {
	if r.Shm == 0 {
		return nil
	}
	p, _ := peer.FromContext(ctx)
	switch {
	case p == nil || p.Addr == nil || p.Addr.Network() != "unix":
		return errChunk(r.Chunk, syscall.EINVAL, "write names window %d, but windows are for co-located clients on the unix socket", r.Shm)
	case s.shm == nil:
		return errChunk(r.Chunk, syscall.EINVAL, "write names window %d, but this dataserver has no window socket", r.Shm)
	case len(r.Data) != 0:
		return errChunk(r.Chunk, syscall.EINVAL, "write carries both data and a window reference")
	case r.ShmLen <= 0 || r.ShmLen > int64(s.cfg.MaxWrite):
		return errChunk(r.Chunk, syscall.E2BIG, "write of %d bytes from window %d (at most %d)", r.ShmLen, r.Shm, s.cfg.MaxWrite)
	}
	r.frame = newFrame(int(r.ShmLen))
	r.Data = r.frame[mutationHeader:]
	if err := s.shm.copyOut(r.Shm, r.ShmOff, r.Data); err != nil {
		return fmt.Errorf("chunk %x: %w", r.Chunk, err)
	}
	return nil
}
