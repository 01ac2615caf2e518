package rpc

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
)

func TestSessionsOpenFilesAndChunks(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c, svc := callCtx(t), e.client, e.svc
		info := ms.SessionInfo{Host: "h1", Pid: 77, MountPoint: "/mnt/lis", Version: "test"}
		id, err := c.RegisterSession(ctx, info)
		require.NoError(t, err)
		require.NotZero(t, id)
		require.NoError(t, c.Heartbeat(ctx, id))
		sessions, err := c.ListSessions(ctx)
		require.NoError(t, err)
		want, err := svc.ListSessions(ctx)
		require.NoError(t, err)
		require.Len(t, sessions, 1)
		require.Equal(t, want[0].ID, sessions[0].ID)
		require.Equal(t, info, sessions[0].Info)
		require.True(t, want[0].Expires.Equal(sessions[0].Expires))

		f, err := c.Create(ctx, root, ms.RootIno, "f", ms.NewNode{Mode: 0644}, id)
		require.NoError(t, err)
		opened, err := c.Open(ctx, root, f.Ino, syscall.O_RDWR, id)
		require.NoError(t, err)
		require.Equal(t, f.Ino, opened.Ino)

		// Chunks: allocate with a lease, another dataserver is refused the
		// lease while the holder's is live and it does not answer, writes
		// commit versions.
		rec, err := c.AllocChunk(ctx, f.Ino, 0, "ds1", time.Minute)
		require.NoError(t, err)
		require.Equal(t, "ds1", rec.Primary)
		e.ds.Down("fake:ds1", true)
		_, err = c.AcquireLease(ctx, f.Ino, 0, "ds2", time.Minute)
		requireErrno(t, err, syscall.EAGAIN)
		e.ds.Down("fake:ds1", false)
		_, err = c.AllocChunk(ctx, f.Ino, 1, "ds1", time.Minute)
		require.NoError(t, err)
		a, err := c.CommitWrite(ctx, f.Ino, ms.ChunkSize+10, 99, []ms.ChunkVersion{
			{Index: 0, Version: 3, Dataserver: "ds1"}, {Index: 1, Version: 1, Dataserver: "ds1"}})
		require.NoError(t, err)
		require.EqualValues(t, ms.ChunkSize+10, a.Size)
		chunks, err := c.Chunks(ctx, f.Ino, 0, 10)
		require.NoError(t, err)
		core, err := svc.Chunks(ctx, f.Ino, 0, 10)
		require.NoError(t, err)
		require.Equal(t, core, chunks)
		require.Len(t, chunks, 2)
		require.EqualValues(t, 3, chunks[0].Version)

		// Unlinked while open: the file stays until the last release, then
		// its chunks are queued for deletion.
		require.NoError(t, c.Unlink(ctx, root, ms.RootIno, "f"))
		_, err = c.GetAttr(ctx, f.Ino)
		require.NoError(t, err)
		require.NoError(t, c.Release(ctx, f.Ino, id))
		require.NoError(t, c.Release(ctx, f.Ino, id))
		_, err = c.GetAttr(ctx, f.Ino)
		requireErrno(t, err, syscall.ENOENT)
		dels, err := c.PendingDeletions(ctx, 0)
		require.NoError(t, err)
		require.Len(t, dels, 2)
		require.Equal(t, []string{"ds1"}, dels[0].Replicas)
		require.NoError(t, c.AckDeletions(ctx, []ms.ChunkID{dels[0].Chunk, dels[1].Chunk}))
		dels, err = c.PendingDeletions(ctx, 0)
		require.NoError(t, err)
		require.Empty(t, dels)

		require.NoError(t, c.CloseSession(ctx, id))
		requireErrno(t, c.Heartbeat(ctx, id), syscall.ENOENT)
	})
}

func TestLocksRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c := callCtx(t), e.client
		f, err := c.Create(ctx, root, ms.RootIno, "l", ms.NewNode{Mode: 0644}, 0)
		require.NoError(t, err)
		a := ms.LockOwner{Session: 1, Owner: 10}
		b := ms.LockOwner{Session: 2, Owner: 20}

		require.NoError(t, c.Flock(ctx, f.Ino, a, ms.ReadLock, false))
		require.NoError(t, c.Flock(ctx, f.Ino, b, ms.ReadLock, false))
		requireErrno(t, c.Flock(ctx, f.Ino, b, ms.WriteLock, false), syscall.EAGAIN)
		require.NoError(t, c.Flock(ctx, f.Ino, a, ms.Unlock, false))
		require.NoError(t, c.Flock(ctx, f.Ino, b, ms.WriteLock, false))

		held := ms.PosixLock{Holder: a, Pid: 111, Type: ms.WriteLock, Start: 0, End: 99}
		require.NoError(t, c.SetLk(ctx, f.Ino, held, false))
		probe := ms.PosixLock{Holder: b, Pid: 222, Type: ms.ReadLock, Start: 50, End: ms.MaxOffset}
		got, err := c.GetLk(ctx, f.Ino, probe)
		require.NoError(t, err)
		require.Equal(t, held, got, "GetLk names the conflicting lock and its pid")
		requireErrno(t, c.SetLk(ctx, f.Ino, probe, false), syscall.EAGAIN)
		probe.Start = 100
		got, err = c.GetLk(ctx, f.Ino, probe)
		require.NoError(t, err)
		require.EqualValues(t, ms.Unlock, got.Type)
		require.NoError(t, c.ReleaseOwner(ctx, f.Ino, a))
		probe.Start = 0
		require.NoError(t, c.SetLk(ctx, f.Ino, probe, false))
	})
}

// TestBlockingSetLkReleasedByAnotherClient: client B waits in F_SETLKW
// on a range client A holds, and gets it when A unlocks.
func TestBlockingSetLkReleasedByAnotherClient(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx := callCtx(t)
		// B calls through a server that says when B's call reached the
		// core, so that B is (almost always) waiting when A unlocks.
		m := &enteredMeta{Meta: e.svc, entered: make(chan struct{}, 1)}
		_, addrB := serve(t, m, e.network)
		ca, cb := e.client, dial(t, addrB)
		f, err := ca.Create(ctx, root, ms.RootIno, "w", ms.NewNode{Mode: 0644}, 0)
		require.NoError(t, err)
		lockA := ms.PosixLock{Holder: ms.LockOwner{Session: 1, Owner: 1}, Pid: 1, Type: ms.WriteLock, End: ms.MaxOffset}
		lockB := ms.PosixLock{Holder: ms.LockOwner{Session: 2, Owner: 2}, Pid: 2, Type: ms.WriteLock, Start: 10, End: 20}
		require.NoError(t, ca.SetLk(ctx, f.Ino, lockA, false))

		done := make(chan error, 1)
		go func() { done <- cb.SetLk(ctx, f.Ino, lockB, true) }()
		<-m.entered
		// B cannot have the lock while A holds it.
		got, err := ca.GetLk(ctx, f.Ino, lockB)
		require.NoError(t, err)
		require.Equal(t, lockA, got)
		select {
		case err := <-done:
			t.Fatalf("blocking SetLk returned while the range was held: %v", err)
		default:
		}

		unlock := lockA
		unlock.Type = ms.Unlock
		require.NoError(t, ca.SetLk(ctx, f.Ino, unlock, false))
		require.NoError(t, <-done)
		got, err = ca.GetLk(ctx, f.Ino, lockA)
		require.NoError(t, err)
		require.Equal(t, lockB, got, "B holds the range after its wait")
	})
}

// TestBlockingLockEnds: a lock wait ends with EINTR when the caller gives
// up, and when the server stops.
func TestBlockingLockEnds(t *testing.T) {
	e := startEnv(t, "memory:", "unix")
	ctx := callCtx(t)
	f, err := e.client.Create(ctx, root, ms.RootIno, "w", ms.NewNode{Mode: 0644}, 0)
	require.NoError(t, err)
	held := ms.PosixLock{Holder: ms.LockOwner{Session: 1}, Type: ms.WriteLock, End: ms.MaxOffset}
	require.NoError(t, e.client.SetLk(ctx, f.Ino, held, false))
	require.NoError(t, e.client.Flock(ctx, f.Ino, held.Holder, ms.WriteLock, false))
	other := ms.PosixLock{Holder: ms.LockOwner{Session: 2}, Type: ms.ReadLock, End: 1}

	t.Run("caller cancels", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.client.SetLk(cctx, f.Ino, other, true) }()
		cancel()
		requireErrno(t, <-done, syscall.EINTR)
	})

	t.Run("server stops", func(t *testing.T) {
		// A second server on the same service, so stopping it leaves the
		// env's own server running; entered tells when both waits are in
		// the core, where only the stop can end them.
		m := &enteredMeta{Meta: e.svc, entered: make(chan struct{}, 2)}
		srv, addr := serve(t, m, "unix")
		c := dial(t, addr)
		results := make(chan error, 2)
		go func() { results <- c.SetLk(ctx, f.Ino, other, true) }()
		go func() { results <- c.Flock(ctx, f.Ino, other.Holder, ms.ReadLock, true) }()
		<-m.entered
		<-m.entered
		srv.Stop()
		for range 2 {
			requireErrno(t, <-results, syscall.EINTR)
		}
		_, err = e.client.GetAttr(ctx, f.Ino)
		require.NoError(t, err, "the other server still serves")
	})
}

// enteredMeta signals each blocking lock call as it reaches the core.
type enteredMeta struct {
	Meta
	entered chan struct{}
}

func (m *enteredMeta) SetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock, block bool) error {
	m.entered <- struct{}{}
	return m.Meta.SetLk(ctx, ino, l, block)
}

func (m *enteredMeta) Flock(ctx context.Context, ino ms.Ino, h ms.LockOwner, typ uint32, block bool) error {
	m.entered <- struct{}{}
	return m.Meta.Flock(ctx, ino, h, typ, block)
}

// TestCreateFileOverTheWire: a create that makes the first chunk answers
// with its record, and its lease is installed on the dataserver.
func TestCreateFileOverTheWire(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sid, err := e.client.RegisterSession(ctx, ms.SessionInfo{Host: "h"})
		require.NoError(t, err)
		cf, err := e.client.CreateFile(ctx, ms.Root, ms.RootIno, "f", ms.NewNode{Mode: 0o644}, sid, "ds1", time.Minute)
		require.NoError(t, err)
		require.Equal(t, "ds1", cf.Chunk.Primary)
		a, err := e.client.GetAttr(ctx, cf.Attr.Ino)
		require.NoError(t, err)
		require.Equal(t, a, cf.Attr)
		_, err = e.client.CreateFile(ctx, ms.Root, ms.RootIno, "g", ms.NewNode{Mode: 0o644}, sid, "ds1", 2*ms.MaxLease)
		requireErrno(t, err, syscall.EINVAL)
	})
}
