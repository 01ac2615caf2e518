package metaservice

import (
	"context"
	"syscall"
)

// Open flags the metaservice looks at (the rest is the client's business).
const (
	openAccMode = syscall.O_ACCMODE
)

// Open registers that session has ino open and returns its current
// attributes, which is what gives close-to-open consistency: the client
// takes size and Gen from here, not from its cache. Permission is checked
// against the access mode in flags.
func (s *Service) Open(ctx context.Context, c *Cred, ino Ino, flags uint32, session uint64) (*Attr, error) {
	var out *Attr
	err := s.update(ctx, func(t *tx) error {
		a, err := t.attr(ino)
		if err != nil {
			return err
		}
		if err := t.access(a, c, openMask(flags)); err != nil {
			return err
		}
		if a.IsDir() && flags&openAccMode != syscall.O_RDONLY {
			return errnof(syscall.EISDIR, "open directory %d for writing", ino)
		}
		if session != 0 {
			if err := t.addOpen(ino, session); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	return out, err
}

func openMask(flags uint32) uint32 {
	var m uint32
	switch flags & openAccMode {
	case syscall.O_RDONLY:
		m = MayRead
	case syscall.O_WRONLY:
		m = MayWrite
	default:
		m = MayRead | MayWrite
	}
	if flags&syscall.O_TRUNC != 0 {
		m |= MayWrite
	}
	return m
}

// Release drops one open of ino by session. The last close of an unlinked
// file frees it.
func (s *Service) Release(ctx context.Context, ino Ino, session uint64) error {
	if session == 0 {
		return nil
	}
	return s.update(ctx, func(t *tx) error { return t.releaseOpen(ino, session) })
}

// ReleaseOpens is Release of each of inos (an inode once per open to
// drop) in one transaction: a client batches the releases nobody waits
// for (the kernel's RELEASE comes after close(2) returned).
func (s *Service) ReleaseOpens(ctx context.Context, inos []Ino, session uint64) error {
	if session == 0 || len(inos) == 0 {
		return nil
	}
	return s.update(ctx, func(t *tx) error {
		for _, ino := range inos {
			if err := t.releaseOpen(ino, session); err != nil {
				return err
			}
		}
		return nil
	})
}

// releaseOpen drops one of session's opens of ino, and reclaims ino if
// that was the last open of an unlinked inode.
func (t *tx) releaseOpen(ino Ino, session uint64) error {
	opens, err := t.opens(ino)
	if err != nil || opens[session] == 0 {
		return err
	}
	if opens[session]--; opens[session] == 0 {
		delete(opens, session)
	}
	t.putOpens(ino, opens)
	if len(opens) > 0 {
		return nil
	}
	return t.reclaimIfOrphan(ino)
}

// openTable counts each session's opens of one inode. All of them live
// under one key, which every open, close and unlink of the inode reads and
// writes: an unlink racing with an open then conflicts on it and one of
// them retries, where per-session keys would let both commit (the unlink
// would not see the open's new key) and purge a file just opened.
type openTable map[uint64]uint32

func (t *tx) opens(ino Ino) (openTable, error) {
	k := openKey(ino)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return openTable{}, err
	}
	o := openTable{}
	return o, decode(k, v, &o)
}

func (t *tx) putOpens(ino Ino, o openTable) {
	if len(o) == 0 {
		t.mustDelete(openKey(ino))
		return
	}
	t.mustSet(openKey(ino), encode(o))
}

// addOpen counts one more open of ino by session.
func (t *tx) addOpen(ino Ino, session uint64) error {
	o, err := t.opens(ino)
	if err != nil {
		return err
	}
	o[session]++
	t.putOpens(ino, o)
	return nil
}

// isOpen reports whether any session has ino open.
func (t *tx) isOpen(ino Ino) (bool, error) {
	o, err := t.opens(ino)
	return len(o) > 0, err
}

// reclaimIfOrphan frees ino if it is an orphan (no links left) that no
// session holds open any more.
func (t *tx) reclaimIfOrphan(ino Ino) error {
	v, err := t.Get(orphanKey(ino))
	if err != nil || v == nil {
		return err
	}
	if open, err := t.isOpen(ino); err != nil || open {
		return err
	}
	a, err := t.attr(ino)
	if err != nil {
		return err
	}
	return t.purge(a)
}
