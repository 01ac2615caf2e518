package metaservice

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// SessionInfo describes the client behind a session.
type SessionInfo struct {
	_msgpack struct{} `msgpack:",as_array"`

	Host       string
	Pid        int
	MountPoint string
	Version    string
}

// Session is a registered client session.
type Session struct {
	ID      uint64
	Info    SessionInfo
	Expires time.Time
}

// RegisterSession starts a session for a client. The client must
// Heartbeat more often than Options.SessionTimeout; a session that stops
// doing so is reaped: its locks are released and the unlinked files it
// held open are reclaimed.
func (s *Service) RegisterSession(ctx context.Context, info SessionInfo) (uint64, error) {
	var id uint64
	err := s.update(ctx, func(t *tx) error {
		k := globalCounterKey("session")
		v, err := t.Get(k)
		if err != nil {
			return err
		}
		if v != nil {
			if id, err = decodeUint(k, v); err != nil {
				return err
			}
		}
		id++
		t.mustSet(k, encodeUint(id))
		t.putSession(&sessionRecord{ID: id, Info: info, Expires: t.now + int64(s.opts.SessionTimeout)})
		return nil
	})
	return id, err
}

func (t *tx) putSession(r *sessionRecord) { t.mustSet(sessionKey(r.ID), encode(r)) }

// Heartbeat extends a session. ENOENT means the session was reaped; the
// client must register a new one (its locks are gone).
func (s *Service) Heartbeat(ctx context.Context, id uint64) error {
	return s.update(ctx, func(t *tx) error {
		k := sessionKey(id)
		v, err := t.Get(k)
		if err != nil {
			return err
		}
		if v == nil {
			return errnof(syscall.ENOENT, "session %d", id)
		}
		var r sessionRecord
		if err := decode(k, v, &r); err != nil {
			return err
		}
		r.Expires = t.now + int64(s.opts.SessionTimeout)
		t.putSession(&r)
		return nil
	})
}

// ListSessions returns every registered session.
func (s *Service) ListSessions(ctx context.Context) ([]Session, error) {
	var out []Session
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start := []byte{tagGlobal, gSession}
		var derr error
		err := t.Scan(start, prefixEnd(start), 0, func(k, v []byte) bool {
			var r sessionRecord
			if derr = decode(k, v, &r); derr != nil {
				return false
			}
			out = append(out, Session{ID: r.ID, Info: r.Info, Expires: time.Unix(0, r.Expires)})
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	return out, err
}

// CloseSession ends a session cleanly: as a reap, but at once.
func (s *Service) CloseSession(ctx context.Context, id uint64) error {
	return s.cleanSession(ctx, id)
}

// reapSessions cleans up every session whose heartbeat stopped.
func (s *Service) reapSessions(ctx context.Context) error {
	sessions, err := s.ListSessions(ctx)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	for _, sess := range sessions {
		if now.Before(sess.Expires) {
			continue
		}
		s.log.Info("reaping dead session", "session", sess.ID, "host", sess.Info.Host, "pid", sess.Info.Pid)
		if err := s.cleanSession(ctx, sess.ID); err != nil {
			return fmt.Errorf("reap session %d: %w", sess.ID, err)
		}
	}
	return nil
}

// cleanSession drops a session's opens (reclaiming orphans nobody else
// holds) and locks shard by shard, then the session record itself.
func (s *Service) cleanSession(ctx context.Context, id uint64) error {
	shards, err := s.ListShards(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if err := s.dropSessionOpens(ctx, sh.ID, id); err != nil {
			return err
		}
		if err := s.dropSessionLocks(ctx, sh.ID, id); err != nil {
			return err
		}
	}
	err = s.update(ctx, func(t *tx) error {
		t.mustDelete(sessionKey(id))
		return nil
	})
	if err == nil {
		s.callbacks.Drop(id)
	}
	return err
}

func (s *Service) dropSessionOpens(ctx context.Context, shard ShardID, id uint64) error {
	var inos []Ino
	start, end := kindRange(shard, kOpen)
	err := s.scanPaged(ctx, start, end, func(k, v []byte) error {
		o := openTable{}
		if err := decode(k, v, &o); err != nil {
			return err
		}
		if o[id] > 0 {
			inos = append(inos, inoOfKey(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ino := range inos {
		err := s.update(ctx, func(t *tx) error {
			o, err := t.opens(ino)
			if err != nil {
				return err
			}
			delete(o, id)
			t.putOpens(ino, o)
			if len(o) > 0 {
				return nil
			}
			return t.reclaimIfOrphan(ino)
		})
		if err != nil {
			return fmt.Errorf("drop opens of inode %d by session %d: %w", ino, id, err)
		}
	}
	return nil
}
