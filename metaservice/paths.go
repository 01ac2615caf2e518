package metaservice

import (
	"context"
	"fmt"
	"path"
	"slices"
	"syscall"

	"github.com/lis-fs/lis/metaservice/kv"
)

// pathScanLimit bounds the entries PathOf reads to find one name in one
// directory: it serves reports, which must stay cheap in a directory of
// millions of files.
const pathScanLimit = 100_000

// PathOf returns a path of ino in the volume, for reports (lis status):
// the names up its chain of parents. A hard-linked file gets one of its
// paths. Where a name is not found within pathScanLimit entries of its
// directory (or the inode is unlinked but open), that part of the path
// reads "#INO".
func (s *Service) PathOf(ctx context.Context, ino Ino) (string, error) {
	var names []string
	err := s.view(ctx, func(t *tx) error {
		names = names[:0]
		for cur := ino; cur != RootIno && len(names) < maxPathDepth; {
			a, err := t.attr(cur)
			if err != nil {
				return err
			}
			name, err := t.nameIn(a.Parent, cur, pathScanLimit)
			if isErrno(err, syscall.ENOENT) {
				name = fmt.Sprintf("#%d", cur)
			} else if err != nil {
				return err
			}
			names = append(names, name)
			cur = a.Parent
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("path of inode %d: %w", ino, err)
	}
	slices.Reverse(names)
	return "/" + path.Join(names...), nil
}

// Info describes the metaservice process, for lis status.
type Info struct {
	_msgpack struct{} `msgpack:",as_array"`

	Engine  string // the metadata store: embedded, tikv or memory
	Started int64  // Unix ns
	// PendingReviews and PendingDeletions count the placement reviews and
	// chunk deletions queued (at most statusCountLimit each).
	PendingReviews   int
	PendingDeletions int
	// Rereplication is the redundancy sweep's pass (sweep.go): the lost
	// dataservers it is for, whether it read every chunk record, and what
	// it found.
	Rereplication SweepState
	// LostWrites are the writes found lost with their primary
	// (failover.go), at most statusLostLimit.
	LostWrites []LostWrite
}

// statusLostLimit bounds the lost writes Info lists.
const statusLostLimit = 64

// statusCountLimit bounds the queued work Info counts.
const statusCountLimit = 10_000

// Info describes the metaservice.
func (s *Service) Info(ctx context.Context) (*Info, error) {
	in := &Info{Engine: engineName(s.kv), Started: s.started.UnixNano()}
	var err error
	if in.PendingReviews, err = s.PendingReviews(ctx, statusCountLimit); err != nil {
		return nil, err
	}
	dels, err := s.PendingDeletions(ctx, statusCountLimit)
	if err != nil {
		return nil, err
	}
	in.PendingDeletions = len(dels)
	st, err := s.sweepState(ctx)
	if err != nil {
		return nil, err
	}
	in.Rereplication = *st
	in.LostWrites, err = s.lostWrites(ctx, statusLostLimit)
	return in, err
}

func engineName(e kv.Engine) string {
	switch e.(type) {
	case *kv.Embedded:
		return "embedded"
	case *kv.TiKV:
		return "tikv"
	}
	return fmt.Sprintf("%T", e)
}
