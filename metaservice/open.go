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
			t.addOpen(ino, session)
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
	return s.update(ctx, func(t *tx) error {
		k := openKey(ino, session)
		v, err := t.Get(k)
		if err != nil || v == nil {
			return err
		}
		n, err := decodeUint(k, v)
		if err != nil {
			return err
		}
		if n > 1 {
			t.mustSet(k, encodeUint(n-1))
			return nil
		}
		t.mustDelete(k)
		return t.reclaimIfOrphan(ino, session)
	})
}

// addOpen counts one more open of ino by session.
func (t *tx) addOpen(ino Ino, session uint64) {
	k := openKey(ino, session)
	n := uint64(0)
	if v, err := t.Get(k); err == nil && v != nil {
		n, _ = decodeUint(k, v)
	}
	t.mustSet(k, encodeUint(n+1))
}

// isOpen reports whether any session has ino open.
func (t *tx) isOpen(ino Ino) (bool, error) {
	p := openPrefix(ino)
	open := false
	err := t.Scan(p, prefixEnd(p), 1, func(_, _ []byte) bool { open = true; return false })
	return open, err
}

// reclaimIfOrphan frees ino if it has no links and no session but except
// (whose open is being dropped in this transaction) still has it open.
func (t *tx) reclaimIfOrphan(ino Ino, except uint64) error {
	v, err := t.Get(orphanKey(ino))
	if err != nil || v == nil {
		return err
	}
	p := openPrefix(ino)
	others := false
	err = t.Scan(p, prefixEnd(p), 2, func(k, _ []byte) bool {
		if sessionOfOpenKey(k) != except {
			others = true
		}
		return !others
	})
	if err != nil || others {
		return err
	}
	a, err := t.attr(ino)
	if err != nil {
		return err
	}
	return t.purge(a)
}

func sessionOfOpenKey(k []byte) uint64 {
	var id uint64
	for _, b := range k[keyInoLen:] {
		id = id<<8 | uint64(b)
	}
	return id
}
