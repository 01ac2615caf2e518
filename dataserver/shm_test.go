package dataserver

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestWindowWrites: a co-located Client gets a write window, large writes
// go through it (the data reads back), and a client that keeps changing a
// slot while its write is in flight can only get its own write refused.
func TestWindowWrites(t *testing.T) {
	ts := startServer(t, shortDir(t), "win", nil)
	require.True(t, ts.client.SharedMemory())
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 9))
	var model chunkModel
	for i := range 20 {
		p := randBytes(r, shmMinWrite+r.IntN(shmSlot-shmMinWrite+1))
		off := r.Int64N(8 << 20)
		resp, err := ts.client.Write(ctx, WriteReq{Chunk: 3, ExpectedVersion: uint64(i), Offset: off, Data: p})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), resp.Version)
		model.write(off, p)
	}
	_, got := readAll(t, ts.client, 3)
	require.Equal(t, []byte(model), got)

	// A request naming bytes the checksum does not describe.
	w := ts.client.windows.get()
	slot, off, ok := w.stage(make([]byte, shmMinWrite))
	require.True(t, ok)
	defer w.release(slot)
	_, err := ts.client.writes.write(ctx, &WriteReq{Chunk: 3, AnyVersion: true, CRC: 1, Shm: w.id, ShmOff: off, ShmLen: shmMinWrite}, nil)
	require.ErrorIs(t, err, syscall.EBADMSG)
}

// TestWindowBadRequests: references outside the window, to windows that
// do not exist, or to a window whose client has gone are refused clearly.
func TestWindowBadRequests(t *testing.T) {
	ts := startServer(t, shortDir(t), "win", nil)
	ctx := context.Background()
	other, err := Dial("unix:" + ts.cfg.Unix)
	require.NoError(t, err)
	require.True(t, other.SharedMemory())
	gone := other.windows.get().id
	require.NoError(t, other.Close())

	id := ts.client.windows.get().id
	// A client cannot guess another's window from its own (see register).
	require.Greater(t, max(id, gone)-min(id, gone), uint64(1<<32), "window ids %x and %x", id, gone)
	for _, tc := range []struct {
		name string
		req  WriteReq
		want error
		msg  string
	}{
		{"past the window", WriteReq{Shm: id, ShmOff: shmSlot*shmSlots - 10, ShmLen: 100}, syscall.EINVAL, "outside its"},
		{"negative offset", WriteReq{Shm: id, ShmOff: -1, ShmLen: 100}, syscall.EINVAL, "outside its"},
		{"too long", WriteReq{Shm: id, ShmLen: 1 << 40}, syscall.E2BIG, "at most"},
		{"unknown window", WriteReq{Shm: id + 100, ShmLen: 100}, syscall.EBADF, "not open"},
		{"closed window", WriteReq{Shm: gone, ShmLen: 100}, syscall.EBADF, "not open"},
		{"data and window", WriteReq{Shm: id, ShmLen: 100, Data: []byte("x")}, syscall.EINVAL, "both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Chunk, req.AnyVersion = 5, true
			var err error
			require.Eventually(t, func() bool { // the closed window goes once its connection is seen closed
				_, err = ts.client.writes.write(ctx, &req, nil)
				return errors.Is(err, tc.want)
			}, 5*time.Second, 10*time.Millisecond, "got %v", err)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// TestWindowRefused: the dataserver maps only a sealed memfd handed over
// with the right message, and says why it refused one.
func TestWindowRefused(t *testing.T) {
	ts := startServer(t, shortDir(t), "win", nil)
	path := ts.cfg.Unix + shmSuffix
	send := func(t *testing.T, msg string, fd int) string {
		c, err := net.Dial("unix", path)
		require.NoError(t, err)
		defer c.Close()
		var oob []byte
		if fd >= 0 {
			oob = unix.UnixRights(fd)
		}
		_, _, err = c.(*net.UnixConn).WriteMsgUnix([]byte(msg), oob, nil)
		require.NoError(t, err)
		reply := make([]byte, 512)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(reply)
		require.GreaterOrEqual(t, n, 8)
		return string(reply[8:n])
	}
	unsealed, err := unix.MemfdCreate("t", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(unsealed)
	require.NoError(t, unix.Ftruncate(unsealed, 1<<20))
	require.Contains(t, send(t, shmMagic, unsealed), "not sealed against shrinking")
	require.Contains(t, send(t, shmMagic, -1), "carries 0 descriptors")
	require.Contains(t, send(t, "GARBAGE!", unsealed), "is not")
	// The server still serves windows after refusing those.
	c, err := Dial("unix:" + ts.cfg.Unix)
	require.NoError(t, err)
	defer c.Close()
	require.True(t, c.SharedMemory())
}

// TestWindowAfterRestart: a client whose co-located dataserver restarts
// (and so forgets its window) keeps writing: a write through the old
// window is refused as not open and goes again inline, and the client
// opens a window with the new process.
func TestWindowAfterRestart(t *testing.T) {
	dir := shortDir(t)
	ts := startServer(t, dir, "win", nil)
	c, err := Dial("unix:" + ts.cfg.Unix)
	require.NoError(t, err)
	defer c.Close()
	old := c.windows.get()
	require.NotNil(t, old)
	ctx := context.Background()
	p := make([]byte, shmMinWrite)
	_, err = c.Write(ctx, WriteReq{Chunk: 1, AnyVersion: true, Data: p})
	require.NoError(t, err)
	ts.stop(t)
	ts = startServer(t, dir, "win", nil)
	defer ts.stop(t)
	for i := range 3 { // whatever the window's state, each write lands
		p[0] = byte(i + 1)
		require.Eventually(t, func() bool {
			_, err = c.Write(ctx, WriteReq{Chunk: 1, AnyVersion: true, Data: p})
			return !errors.Is(err, syscall.ENOTCONN) // the connection is made again lazily
		}, 10*time.Second, 20*time.Millisecond)
		require.NoError(t, err, "write %d after the restart", i)
	}
	got, err := ts.client.Read(ctx, 1, 0, 1)
	require.NoError(t, err)
	require.Equal(t, byte(3), got.Data[0])
	require.Eventually(t, func() bool { w := c.windows.get(); return w != nil && w != old },
		5*time.Second, 20*time.Millisecond, "a window with the restarted dataserver")
}
