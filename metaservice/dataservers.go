package metaservice

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/lis-fs/lis/metaservice/registry"
)

// DataserverStatus is a registered dataserver and its liveness now.
type DataserverStatus struct {
	_msgpack struct{} `msgpack:",as_array"`

	registry.Dataserver
	Liveness registry.Liveness
}

// DataserverHeartbeat registers a dataserver or records its heartbeat, in
// one transaction. A heartbeat for an ID that a live dataserver at
// another address holds is refused with EEXIST, saying who holds it.
func (s *Service) DataserverHeartbeat(ctx context.Context, h registry.Heartbeat) error {
	copies := h.Copies
	h.Copies = nil
	if err := s.beat(ctx, h); err != nil {
		return err
	}
	return s.recordCopyVersions(ctx, copies)
}

// beat records h in the registry.
func (s *Service) beat(ctx context.Context, h registry.Heartbeat) error {
	return s.update(ctx, func(t *tx) error {
		old, err := t.dataserver(h.ID)
		if err != nil {
			return err
		}
		d, err := s.opts.Liveness.Admit(old, h, time.Unix(0, t.now))
		var taken *registry.ErrTaken
		switch {
		case errors.As(err, &taken):
			return errnof(syscall.EEXIST, "%s", err)
		case err != nil:
			return errnof(syscall.EINVAL, "%s", err)
		}
		if old == nil || old.Addr != d.Addr {
			s.log.Info("dataserver registered", "id", d.ID, "addr", d.Addr, "site", d.Site, "region", d.Region)
		}
		t.mustSet(dataserverKey(h.ID), encode(d))
		return nil
	})
}

func (t *tx) dataserver(id string) (*registry.Dataserver, error) {
	k := dataserverKey(id)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return nil, err
	}
	d := new(registry.Dataserver)
	if err := decode(k, v, d); err != nil {
		// A record an older Lis wrote (its fields have moved): the
		// registry is soft state, and this heartbeat writes it anew.
		t.s.log.Warn("dataserver record in an old format; registering it anew", "id", id, "err", err)
		return nil, nil
	}
	return d, nil
}

// ListDataservers returns every registered dataserver, by ID, with its
// liveness by the age of its last heartbeat. Admin tokens are left out:
// this is what clients see.
func (s *Service) ListDataservers(ctx context.Context) ([]DataserverStatus, error) {
	list, err := s.listDataservers(ctx)
	for i := range list {
		list[i].AdminToken = ""
	}
	return list, err
}

// listDataservers is ListDataservers with the admin tokens.
func (s *Service) listDataservers(ctx context.Context) ([]DataserverStatus, error) {
	var out []DataserverStatus
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start := []byte{tagGlobal, gDataserver}
		return t.Scan(start, prefixEnd(start), 0, func(k, v []byte) bool {
			var d registry.Dataserver
			if decode(k, v, &d) != nil {
				return true // an older Lis's record: its next heartbeat rewrites it
			}
			out = append(out, DataserverStatus{Dataserver: d, Liveness: s.opts.Liveness.Liveness(&d, time.Unix(0, t.now))})
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dataservers: %w", err)
	}
	return out, nil
}

// recordCopyVersions records, in one transaction, the durable versions a
// heartbeat reports for chunk copies, in the records of chunks that still
// have those copies. A version never goes back: reports may arrive late.
func (s *Service) recordCopyVersions(ctx context.Context, copies []registry.CopyVersion) error {
	if len(copies) == 0 {
		return nil
	}
	err := s.update(ctx, func(t *tx) error {
		for _, cv := range copies {
			if err := t.recordCopyVersion(cv); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d copy versions: %w", len(copies), err)
	}
	return nil
}

func (t *tx) recordCopyVersion(cv registry.CopyVersion) error {
	c, err := t.chunk(Ino(cv.Ino), cv.Index)
	if err != nil || c == nil || uint64(c.ID) != cv.Chunk {
		return err // the file or chunk is gone, or the report is not of this record
	}
	for i := range c.Replicas {
		if r := &c.Replicas[i]; r.Dataserver == cv.Dataserver && r.Version < cv.Version {
			r.Version = cv.Version
			t.mustSet(chunkKey(Ino(cv.Ino), cv.Index), encode(c))
		}
	}
	return nil
}
