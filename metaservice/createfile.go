package metaservice

import (
	"context"
	"syscall"
	"time"
)

// CreatedFile is what CreateFile answers: the file, and the record of its
// first chunk when it made the file (nil when it opened an existing one).
type CreatedFile struct {
	_msgpack struct{} `msgpack:",as_array"`

	Attr  *Attr
	Chunk *ChunkRecord
}

// CreateFile is Create that also makes the new file's first chunk, with
// dataserver ds as its primary under a lease of the given length, in the
// same transaction, and installs the lease before it returns, as
// AllocChunk would at the first write. A small file then costs its create
// and the commit of its close: two round trips, not three. The chunk is
// placed by the directory's policy, which a new file inherits. If the
// lease cannot be installed, the file is answered without its chunk
// (Chunk nil), and the first write's AllocChunk tries again. With no ds
// it is Create: a client that expects the file to stay empty (touch)
// makes no chunk a dataserver would have to keep a lease for.
func (s *Service) CreateFile(ctx context.Context, c *Cred, parent Ino, name string, n NewNode, session uint64, ds string, lease time.Duration) (*CreatedFile, error) {
	if ds == "" {
		a, err := s.Create(ctx, c, parent, name, n, session)
		if err != nil {
			return nil, err
		}
		return &CreatedFile{Attr: a}, nil
	}
	if err := checkLease(lease); err != nil {
		return nil, err
	}
	// Chosen ahead, from batches and caches: only a number is skipped if
	// the name exists.
	id, err := s.newChunkID(ctx, parent.Shard())
	if err != nil {
		return nil, err
	}
	copies, mode, err := s.placeChunk(ctx, parent, ds)
	if err != nil {
		return nil, err
	}
	var rec *ChunkRecord
	var recIno Ino
	n.Mode = syscall.S_IFREG | n.Mode&07777
	a, err := s.createThen(ctx, c, parent, name, n, session, func(t *tx, a *Attr) {
		rec = &ChunkRecord{ID: id, Primary: ds, LeaseEpoch: 1, LeaseExpiry: t.now + int64(lease), Replicas: copies, Mode: mode}
		recIno = a.Ino
		t.mustSet(chunkKey(a.Ino, 0), encode(rec))
	})
	if err != nil {
		return nil, err
	}
	// A transaction that made the file and was retried may have found the
	// name taken the second time: the chunk went with the first attempt.
	if rec == nil || recIno != a.Ino {
		return &CreatedFile{Attr: a}, nil
	}
	if err := s.startChunk(ctx, a.Ino, 0, rec, ds); err != nil {
		// The file is made: the create succeeds, and the first write's
		// AllocChunk installs the lease, or says why it cannot.
		s.log.Warn("new file's first chunk not started", "ino", a.Ino, "chunk", rec.ID, "dataserver", ds, "err", err)
		return &CreatedFile{Attr: a}, nil
	}
	return &CreatedFile{Attr: a, Chunk: rec}, nil
}
