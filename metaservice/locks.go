package metaservice

import (
	"context"
	"sync"
	"syscall"
	"time"
)

// Lock types, as fcntl(2)'s F_RDLCK, F_WRLCK and F_UNLCK.
const (
	ReadLock  = syscall.F_RDLCK
	WriteLock = syscall.F_WRLCK
	Unlock    = syscall.F_UNLCK
)

// LockOwner identifies who holds a lock: a session and, within it, the
// kernel's lock owner (the open file description for flock, the process's
// files_struct for POSIX locks).
type LockOwner struct {
	_msgpack struct{} `msgpack:",as_array"`

	Session uint64
	Owner   uint64
}

// PosixLock is a byte-range lock. End is inclusive; MaxOffset means "to
// the end of the file, however it grows".
type PosixLock struct {
	_msgpack struct{} `msgpack:",as_array"`

	Holder LockOwner
	Pid    uint32
	Type   uint32
	Start  uint64
	End    uint64
}

// MaxOffset is the end of a lock that reaches to the end of the file.
const MaxOffset = ^uint64(0)

type flockHolder struct {
	_msgpack struct{} `msgpack:",as_array"`

	Holder LockOwner
	Type   uint32
}

// lockTable is every lock on one inode, stored under one key: lock
// operations on an inode serialise through that key's conflicts.
//
// Invariants: Posix ranges of one holder never overlap; no two holders
// hold conflicting (overlapping, one of them a write) locks.
type lockTable struct {
	_msgpack struct{} `msgpack:",as_array"`

	Flocks []flockHolder
	Posix  []PosixLock
}

func (t *tx) lockTable(ino Ino) (*lockTable, error) {
	k := locksKey(ino)
	v, err := t.Get(k)
	lt := new(lockTable)
	if err != nil || v == nil {
		return lt, err
	}
	return lt, decode(k, v, lt)
}

func (t *tx) putLockTable(ino Ino, lt *lockTable) {
	if len(lt.Flocks) == 0 && len(lt.Posix) == 0 {
		t.mustDelete(locksKey(ino))
	} else {
		t.mustSet(locksKey(ino), encode(lt))
	}
	t.onCommit(func() { t.s.locks.notify(ino) })
}

// Flock takes, converts or (typ Unlock) drops a whole-file flock(2) lock.
// A conflict is EAGAIN, or with block, waits until the lock is free or ctx
// ends (EINTR).
func (s *Service) Flock(ctx context.Context, ino Ino, h LockOwner, typ uint32, block bool) error {
	if err := checkLockType(typ, true); err != nil {
		return err
	}
	return s.retryLock(ctx, ino, block, func(t *tx) error {
		lt, err := t.lockTable(ino)
		if err != nil {
			return err
		}
		kept := lt.Flocks[:0]
		for _, f := range lt.Flocks {
			if f.Holder == h {
				continue
			}
			if typ != Unlock && (typ == WriteLock || f.Type == WriteLock) {
				return errnof(syscall.EAGAIN, "flock inode %d held by session %d", ino, f.Holder.Session)
			}
			kept = append(kept, f)
		}
		if typ != Unlock {
			kept = append(kept, flockHolder{Holder: h, Type: typ})
		}
		lt.Flocks = kept
		t.putLockTable(ino, lt)
		return nil
	})
}

// GetLk returns the first lock that conflicts with l, or l with Type
// Unlock if none does (F_GETLK).
func (s *Service) GetLk(ctx context.Context, ino Ino, l PosixLock) (PosixLock, error) {
	if err := checkLockType(l.Type, false); err != nil {
		return l, err
	}
	out := l
	out.Type = Unlock
	err := s.view(ctx, func(t *tx) error {
		lt, err := t.lockTable(ino)
		if err != nil {
			return err
		}
		if c := lt.conflict(l); c != nil {
			out = *c
		}
		return nil
	})
	return out, err
}

// SetLk sets or clears (Type Unlock) a POSIX byte-range lock (F_SETLK;
// with block, F_SETLKW). A conflict is EAGAIN naming the holder's pid.
func (s *Service) SetLk(ctx context.Context, ino Ino, l PosixLock, block bool) error {
	if l.End < l.Start {
		return errnof(syscall.EINVAL, "lock range %d-%d", l.Start, l.End)
	}
	if err := checkLockType(l.Type, true); err != nil {
		return err
	}
	return s.retryLock(ctx, ino, block, func(t *tx) error {
		lt, err := t.lockTable(ino)
		if err != nil {
			return err
		}
		if l.Type != Unlock {
			if c := lt.conflict(l); c != nil {
				return errnof(syscall.EAGAIN, "lock %d-%d of inode %d held by pid %d", c.Start, c.End, ino, c.Pid)
			}
		}
		lt.setPosix(l)
		t.putLockTable(ino, lt)
		return nil
	})
}

// checkLockType accepts ReadLock and WriteLock, and Unlock where it
// means something (not for F_GETLK).
func checkLockType(typ uint32, unlockOK bool) error {
	if typ == ReadLock || typ == WriteLock || typ == Unlock && unlockOK {
		return nil
	}
	return errnof(syscall.EINVAL, "lock type %d", typ)
}

func (lt *lockTable) conflict(l PosixLock) *PosixLock {
	for i, p := range lt.Posix {
		if p.Holder != l.Holder && p.Start <= l.End && l.Start <= p.End &&
			(p.Type == WriteLock || l.Type == WriteLock) {
			return &lt.Posix[i]
		}
	}
	return nil
}

// setPosix replaces l.Holder's locks over l's range with l (or nothing for
// Unlock), splitting locks that stick out on either side.
func (lt *lockTable) setPosix(l PosixLock) {
	var out []PosixLock
	for _, p := range lt.Posix {
		if p.Holder != l.Holder || p.End < l.Start || l.End < p.Start {
			out = append(out, p)
			continue
		}
		if p.Start < l.Start {
			left := p
			left.End = l.Start - 1
			out = append(out, left)
		}
		if p.End > l.End {
			right := p
			right.Start = l.End + 1
			out = append(out, right)
		}
	}
	if l.Type != Unlock {
		out = append(out, l)
	}
	lt.Posix = out
}

// retryLock runs a lock transaction; with block, an EAGAIN waits for a
// change to the inode's locks (notified in process, polled with backoff
// for changes made through other metaservices) and tries again.
func (s *Service) retryLock(ctx context.Context, ino Ino, block bool, fn func(t *tx) error) error {
	wait := 5 * time.Millisecond
	for {
		changed := s.locks.watch(ino)
		err := s.update(ctx, fn)
		if err != nil && block && ctx.Err() != nil {
			return errnof(syscall.EINTR, "wait for lock on inode %d: %v", ino, ctx.Err())
		}
		if !block || !IsErrno(err, syscall.EAGAIN) {
			return err
		}
		select {
		case <-ctx.Done():
			return errnof(syscall.EINTR, "wait for lock on inode %d: %v", ino, ctx.Err())
		case <-changed:
		case <-time.After(wait):
			wait = min(2*wait, 500*time.Millisecond)
		}
	}
}

// lockWaiters wakes blocked lockers when an inode's locks change.
type lockWaiters struct {
	mu    sync.Mutex // guards chans
	chans map[Ino]chan struct{}
}

func newLockWaiters() *lockWaiters { return &lockWaiters{chans: make(map[Ino]chan struct{})} }

// watch returns a channel closed at the next change of ino's locks.
func (w *lockWaiters) watch(ino Ino) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.chans[ino]
	if !ok {
		c = make(chan struct{})
		w.chans[ino] = c
	}
	return c
}

func (w *lockWaiters) notify(ino Ino) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.chans[ino]; ok {
		close(c)
		delete(w.chans, ino)
	}
}

// dropSessionLocks releases every lock a session holds in a shard.
func (s *Service) dropSessionLocks(ctx context.Context, shard ShardID, id uint64) error {
	var inos []Ino
	err := s.view(ctx, func(t *tx) error {
		inos = inos[:0]
		start, end := kindRange(shard, kLocks)
		var derr error
		err := t.Scan(start, end, 0, func(k, v []byte) bool {
			var lt lockTable
			if derr = decode(k, v, &lt); derr != nil {
				return false
			}
			if lt.heldBy(id) {
				inos = append(inos, inoOfKey(k))
			}
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	if err != nil {
		return err
	}
	for _, ino := range inos {
		err := s.update(ctx, func(t *tx) error {
			lt, err := t.lockTable(ino)
			if err != nil {
				return err
			}
			lt.dropSession(id)
			t.putLockTable(ino, lt)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (lt *lockTable) heldBy(session uint64) bool {
	for _, f := range lt.Flocks {
		if f.Holder.Session == session {
			return true
		}
	}
	for _, p := range lt.Posix {
		if p.Holder.Session == session {
			return true
		}
	}
	return false
}

func (lt *lockTable) dropSession(session uint64) {
	flocks := lt.Flocks[:0]
	for _, f := range lt.Flocks {
		if f.Holder.Session != session {
			flocks = append(flocks, f)
		}
	}
	posix := lt.Posix[:0]
	for _, p := range lt.Posix {
		if p.Holder.Session != session {
			posix = append(posix, p)
		}
	}
	lt.Flocks, lt.Posix = flocks, posix
}

// ReleaseOwner drops every POSIX lock and flock of holder on ino, as the
// kernel asks at close (FUSE_RELEASE with the lock owner, or flush).
func (s *Service) ReleaseOwner(ctx context.Context, ino Ino, h LockOwner) error {
	return s.update(ctx, func(t *tx) error {
		lt, err := t.lockTable(ino)
		if err != nil {
			return err
		}
		before := len(lt.Flocks) + len(lt.Posix)
		lt.setPosix(PosixLock{Holder: h, Type: Unlock, Start: 0, End: MaxOffset})
		flocks := lt.Flocks[:0]
		for _, f := range lt.Flocks {
			if f.Holder != h {
				flocks = append(flocks, f)
			}
		}
		lt.Flocks = flocks
		if len(lt.Flocks)+len(lt.Posix) != before {
			t.putLockTable(ino, lt)
		}
		return nil
	})
}
