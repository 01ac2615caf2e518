package metaservice

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testOpenUnlinked(t *testing.T, f *fixture) {
	s1, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h1"})
	require.NoError(t, err)
	s2, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h2"})
	require.NoError(t, err)
	a, err := f.s.Create(f.ctx, alice, RootIno, "f", NewNode{Mode: 0644}, s1)
	require.NoError(t, err)
	_, err = f.s.Open(f.ctx, alice, a.Ino, syscall.O_RDONLY, s2)
	require.NoError(t, err)

	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	orphan := f.attr(a.Ino)
	require.Zero(t, orphan.Nlink, "kept while open")
	f.fsckClean()

	require.NoError(t, f.s.Release(f.ctx, a.Ino, s1))
	f.attr(a.Ino) // still open by s2
	require.NoError(t, f.s.Release(f.ctx, a.Ino, s2))
	_, err = f.s.GetAttr(f.ctx, a.Ino)
	requireErrno(t, err, syscall.ENOENT)

	// Renaming over an open file keeps it as an orphan too.
	b, err := f.s.Create(f.ctx, alice, RootIno, "b", NewNode{Mode: 0644}, s1)
	require.NoError(t, err)
	f.create(alice, RootIno, "c", 0644)
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "c", RootIno, "b", 0))
	require.Zero(t, f.attr(b.Ino).Nlink)
	require.NoError(t, f.s.CloseSession(f.ctx, s1))
	_, err = f.s.GetAttr(f.ctx, b.Ino)
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()
}

// testReleaseOpens: a batch of releases drops one open per entry, an
// inode listed twice twice, and reclaims what it left unlinked and
// unopened, in one transaction.
func testReleaseOpens(t *testing.T, f *fixture) {
	sid, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h"})
	require.NoError(t, err)
	a, err := f.s.Create(f.ctx, alice, RootIno, "twice", NewNode{Mode: 0644}, sid)
	require.NoError(t, err)
	_, err = f.s.Open(f.ctx, alice, a.Ino, syscall.O_RDONLY, sid)
	require.NoError(t, err)
	b, err := f.s.Create(f.ctx, alice, RootIno, "kept", NewNode{Mode: 0644}, sid)
	require.NoError(t, err)
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "twice"))
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "kept"))

	require.NoError(t, f.s.ReleaseOpens(f.ctx, []Ino{a.Ino, b.Ino, a.Ino}, sid))
	_, err = f.s.GetAttr(f.ctx, a.Ino)
	requireErrno(t, err, syscall.ENOENT)
	_, err = f.s.GetAttr(f.ctx, b.Ino)
	requireErrno(t, err, syscall.ENOENT)
	require.NoError(t, f.s.ReleaseOpens(f.ctx, []Ino{a.Ino}, sid), "a release too many is harmless")
	f.fsckClean()
}

func testSessionReap(t *testing.T, f *fixture) {
	live, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "live"})
	require.NoError(t, err)
	dead, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "dead"})
	require.NoError(t, err)
	a, err := f.s.Create(f.ctx, alice, RootIno, "f", NewNode{Mode: 0644}, dead)
	require.NoError(t, err)
	holder := LockOwner{Session: dead, Owner: 1}
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, PosixLock{Holder: holder, Pid: 42, Type: WriteLock, End: MaxOffset}, false))
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, holder, WriteLock, false))
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))

	f.now = f.now.Add(f.s.opts.SessionTimeout / 2)
	require.NoError(t, f.s.Heartbeat(f.ctx, live))
	f.now = f.now.Add(f.s.opts.SessionTimeout/2 + time.Second)
	require.NoError(t, f.s.reapSessions(f.ctx))

	sessions, err := f.s.ListSessions(f.ctx)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, live, sessions[0].ID)
	requireErrno(t, f.s.Heartbeat(f.ctx, dead), syscall.ENOENT)
	_, err = f.s.GetAttr(f.ctx, a.Ino)
	requireErrno(t, err, syscall.ENOENT) // orphan reclaimed with its session
	f.fsckClean()

	// Locks of a reaped session are released.
	b := f.create(alice, RootIno, "b", 0644)
	dead2, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "dead2"})
	require.NoError(t, err)
	require.NoError(t, f.s.Flock(f.ctx, b.Ino, LockOwner{Session: dead2, Owner: 1}, WriteLock, false))
	other := LockOwner{Session: live, Owner: 9}
	requireErrno(t, f.s.Flock(f.ctx, b.Ino, other, WriteLock, false), syscall.EAGAIN)
	f.now = f.now.Add(2 * f.s.opts.SessionTimeout)
	require.NoError(t, f.s.Heartbeat(f.ctx, live))
	require.NoError(t, f.s.reapSessions(f.ctx))
	require.NoError(t, f.s.Flock(f.ctx, b.Ino, other, WriteLock, false))
}

func testFlock(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	x, y := LockOwner{Session: 1, Owner: 1}, LockOwner{Session: 2, Owner: 1}
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, x, ReadLock, false))
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, y, ReadLock, false))
	requireErrno(t, f.s.Flock(f.ctx, a.Ino, y, WriteLock, false), syscall.EAGAIN)
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, x, Unlock, false))
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, y, WriteLock, false), "upgrade once alone")

	// A blocking request waits for the holder to let go.
	done := make(chan error, 1)
	go func() { done <- f.s.Flock(f.ctx, a.Ino, x, WriteLock, true) }()
	select {
	case err := <-done:
		t.Fatalf("blocking flock returned early: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	require.NoError(t, f.s.Flock(f.ctx, a.Ino, y, Unlock, false))
	require.NoError(t, <-done)

	// A cancelled wait is EINTR.
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Millisecond)
	defer cancel()
	requireErrno(t, f.s.Flock(ctx, a.Ino, y, ReadLock, true), syscall.EINTR)
}

func testPosixLocks(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	x, y := LockOwner{Session: 1, Owner: 10}, LockOwner{Session: 1, Owner: 11}
	lk := func(h LockOwner, typ uint32, start, end uint64) PosixLock {
		return PosixLock{Holder: h, Pid: uint32(h.Owner), Type: typ, Start: start, End: end}
	}
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(x, WriteLock, 0, 99), false))
	// Unlocking the middle splits x's lock in two.
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(x, Unlock, 40, 59), false))
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(y, WriteLock, 40, 59), false))
	err := f.s.SetLk(f.ctx, a.Ino, lk(y, ReadLock, 30, 45), false)
	requireErrno(t, err, syscall.EAGAIN)
	require.Contains(t, err.Error(), "pid 10")

	got, err := f.s.GetLk(f.ctx, a.Ino, lk(y, WriteLock, 0, MaxOffset))
	require.NoError(t, err)
	require.Equal(t, x, got.Holder)
	require.Equal(t, uint32(10), got.Pid)
	require.Equal(t, uint64(0), got.Start)
	require.Equal(t, uint64(39), got.End)
	got, err = f.s.GetLk(f.ctx, a.Ino, lk(y, WriteLock, 45, 50))
	require.NoError(t, err)
	require.Equal(t, uint32(Unlock), got.Type, "own locks never conflict")

	// Read locks share.
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(y, Unlock, 0, MaxOffset), false))
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(x, ReadLock, 0, 99), false))
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(y, ReadLock, 50, 200), false))
	requireErrno(t, f.s.SetLk(f.ctx, a.Ino, lk(y, WriteLock, 0, 10), false), syscall.EAGAIN)
	require.NoError(t, f.s.ReleaseOwner(f.ctx, a.Ino, x))
	require.NoError(t, f.s.SetLk(f.ctx, a.Ino, lk(y, WriteLock, 0, 10), false))
	requireErrno(t, f.s.SetLk(f.ctx, a.Ino, lk(y, WriteLock, 10, 0), false), syscall.EINVAL)
	requireErrno(t, f.s.SetLk(f.ctx, a.Ino, lk(y, 7, 0, 10), false), syscall.EINVAL)
	_, err = f.s.GetLk(f.ctx, a.Ino, lk(y, Unlock, 0, 10))
	requireErrno(t, err, syscall.EINVAL)
	requireErrno(t, f.s.Flock(f.ctx, a.Ino, y, 9, false), syscall.EINVAL)
}

func testOpenDirRemoved(t *testing.T, f *fixture) {
	sid, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h"})
	require.NoError(t, err)
	d := f.mkdir(alice, RootIno, "d", 0755)
	_, err = f.s.Open(f.ctx, alice, d.Ino, syscall.O_RDONLY, sid)
	require.NoError(t, err)
	require.NoError(t, f.s.Rmdir(f.ctx, alice, RootIno, "d"))
	a := f.attr(d.Ino)
	require.Zero(t, a.Nlink, "a removed directory still open is kept, with no links")
	_, err = f.s.Mknod(f.ctx, alice, d.Ino, "x", NewNode{Mode: 0644})
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()
	require.NoError(t, f.s.Release(f.ctx, d.Ino, sid))
	_, err = f.s.GetAttr(f.ctx, d.Ino)
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()

	// A directory replaced by rename while open, likewise.
	e := f.mkdir(alice, RootIno, "e", 0755)
	f.mkdir(alice, RootIno, "src", 0755)
	_, err = f.s.Open(f.ctx, alice, e.Ino, syscall.O_RDONLY, sid)
	require.NoError(t, err)
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "src", RootIno, "e", 0))
	require.Zero(t, f.attr(e.Ino).Nlink)
	require.NoError(t, f.s.CloseSession(f.ctx, sid))
	_, err = f.s.GetAttr(f.ctx, e.Ino)
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()
}

// testOpenRacesUnlink runs opens against unlinks of the same files: an
// open that succeeded must find its inode until it is released, whichever
// committed first.
func testOpenRacesUnlink(t *testing.T, f *fixture) {
	sid, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h"})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		a := f.create(alice, RootIno, "f", 0644)
		opened := make(chan error, 1)
		go func() {
			_, err := f.s.Open(f.ctx, alice, a.Ino, syscall.O_RDONLY, sid)
			opened <- err
		}()
		require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
		if err := <-opened; err != nil {
			requireErrno(t, err, syscall.ENOENT) // the unlink won
			continue
		}
		_, err := f.s.GetAttr(f.ctx, a.Ino)
		require.NoError(t, err, "iteration %d: an open file was purged", i)
		require.NoError(t, f.s.Release(f.ctx, a.Ino, sid))
		_, err = f.s.GetAttr(f.ctx, a.Ino)
		requireErrno(t, err, syscall.ENOENT)
	}
	f.fsckClean()
}

// testCreateFile: a file made with its first chunk has the chunk's record,
// leased to the dataserver asked for; an existing file opened so has none
// made.
func testCreateFile(t *testing.T, f *fixture) {
	f.register("ds1")
	sid, err := f.s.RegisterSession(f.ctx, SessionInfo{Host: "h"})
	require.NoError(t, err)
	cf, err := f.s.CreateFile(f.ctx, alice, RootIno, "small", NewNode{Mode: 0644}, sid, "ds1", time.Minute)
	require.NoError(t, err)
	require.NotNil(t, cf.Chunk)
	require.Equal(t, "ds1", cf.Chunk.Primary)
	recs, err := f.s.Chunks(f.ctx, cf.Attr.Ino, 0, 1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, cf.Chunk.ID, recs[0].ID)
	again, err := f.s.AllocChunk(f.ctx, cf.Attr.Ino, 0, "ds1", time.Minute)
	require.NoError(t, err)
	require.Equal(t, cf.Chunk.ID, again.ID, "the first write finds the chunk made")

	existing, err := f.s.CreateFile(f.ctx, alice, RootIno, "small", NewNode{Mode: 0644}, sid, "ds1", time.Minute)
	require.NoError(t, err)
	require.Nil(t, existing.Chunk)
	require.Equal(t, cf.Attr.Ino, existing.Attr.Ino)
	_, err = f.s.CreateFile(f.ctx, alice, RootIno, "bad", NewNode{Mode: 0644}, sid, "ds1", 2*MaxLease)
	requireErrno(t, err, syscall.EINVAL)
	plain, err := f.s.CreateFile(f.ctx, alice, RootIno, "empty", NewNode{Mode: 0644}, sid, "", 0)
	require.NoError(t, err)
	require.Nil(t, plain.Chunk, "no dataserver: no chunk")
	recs, err = f.s.Chunks(f.ctx, plain.Attr.Ino, 0, 1)
	require.NoError(t, err)
	require.Empty(t, recs)
	f.fsckClean()
}
