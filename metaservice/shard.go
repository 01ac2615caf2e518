package metaservice

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/policy"
)

// ShardInfo describes a shard for `lis shard list`.
type ShardInfo struct {
	ShardRecord
	// Where is the root's path in the volume now; "" when the shard is
	// retired, or its root cannot be found (fsck says why).
	Where      string
	Start, End []byte // key range [Start, End) in the volume's key space
	Inodes     int64
	Bytes      int64
}

// CreateShard turns the empty directory dir into the root of a new shard:
// everything created under it from now on lives in the new shard's key
// range. The directory keeps its inode number (and so its own attributes
// and entries stay in its parent's shard, and clients' caches stay
// valid); it records the new shard as the one its children are born in.
// path names dir in the caller's terms, for messages; the record keeps
// its path in the volume.
func (s *Service) CreateShard(ctx context.Context, c *Cred, dir Ino, path string) (*ShardRecord, error) {
	if c.Uid != 0 {
		return nil, errnof(syscall.EPERM, "create shard: uid %d is not root", c.Uid)
	}
	if dir == RootIno {
		return nil, errnof(syscall.EINVAL, "create shard: the root is already shard 0's root")
	}
	var rec *ShardRecord
	err := s.update(ctx, func(t *tx) error {
		a, err := t.dir(dir)
		if err != nil {
			return err
		}
		if err := t.mustBeEmpty(a); err != nil {
			return err
		}
		if a.ChildShard != a.Ino.Shard() {
			return errnof(syscall.EEXIST, "directory %d is already the root of shard %d", dir, a.ChildShard)
		}
		id, err := t.nextShardID()
		if err != nil {
			return err
		}
		inVolume, err := t.pathOf(dir)
		if err != nil {
			return err
		}
		a.ChildShard = id
		a.Ctime = t.now
		t.putAttr(a)
		rec = &ShardRecord{ID: id, Root: dir, Path: inVolume, Created: t.now}
		t.mustSet(shardRecordKey(id), encode(rec))
		t.mustSet(counterKey(id, cInode), encodeUint(1))
		t.mustSet(counterKey(id, cChunk), encodeUint(1))
		return nil
	}, kv.WithSync(true))
	if err != nil {
		return nil, fmt.Errorf("create shard at %s: %w", path, err)
	}
	if sp, ok := s.kv.(kv.Splitter); ok {
		start, end := shardRange(rec.ID)
		if err := sp.SplitAt(ctx, start, end); err != nil {
			s.log.Warn("split regions at shard boundary", "shard", rec.ID, "err", err)
		}
	}
	return rec, nil
}

func (t *tx) nextShardID() (ShardID, error) {
	k := globalCounterKey("shard")
	v, err := t.Get(k)
	if err != nil {
		return 0, err
	}
	var last uint64
	if v != nil {
		if last, err = decodeUint(k, v); err != nil {
			return 0, err
		}
	}
	if last+1 > uint64(^ShardID(0)) {
		return 0, errnof(syscall.ENOSPC, "every shard id is in use")
	}
	t.mustSet(k, encodeUint(last+1))
	return ShardID(last + 1), nil
}

// ListShards returns every shard, retired ones included, with its key
// range, usage and where its root is now.
func (s *Service) ListShards(ctx context.Context) ([]ShardInfo, error) {
	var out []ShardInfo
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		start := []byte{tagGlobal, gShard}
		var derr error
		err := t.Scan(start, prefixEnd(start), 0, func(k, v []byte) bool {
			var r ShardRecord
			derr = decode(k, v, &r)
			out = append(out, ShardInfo{ShardRecord: r})
			return derr == nil
		})
		if err != nil || derr != nil {
			return firstErr(err, derr)
		}
		for i := range out {
			u, err := t.shardUsage(out[i].ID)
			if err != nil {
				return err
			}
			p := s.usage.pending(out[i].ID)
			out[i].Inodes, out[i].Bytes = u.Inodes+p.Inodes, u.Bytes+p.Bytes
			out[i].Start, out[i].End = shardRange(out[i].ID)
			if out[i].Retired == 0 {
				out[i].Where, _ = t.pathOf(out[i].Root)
			}
		}
		return nil
	})
	return out, err
}

// SetShardSite records the site a shard's leaders should live in, for
// placement rules.
func (s *Service) SetShardSite(ctx context.Context, id ShardID, site string) error {
	if err := policy.CheckLocation("site", site); err != nil {
		return errnof(syscall.EINVAL, "shard %d: %s", id, err)
	}
	return s.update(ctx, func(t *tx) error {
		k := shardRecordKey(id)
		v, err := t.Get(k)
		if err != nil {
			return err
		}
		if v == nil {
			return errnof(syscall.ENOENT, "shard %d", id)
		}
		var r ShardRecord
		if err := decode(k, v, &r); err != nil {
			return err
		}
		r.Site = site
		t.mustSet(k, encode(&r))
		return nil
	})
}

// retireShard marks shard id retired: its root a is going.
func (t *tx) retireShard(a *Attr) error {
	k := shardRecordKey(a.ChildShard)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return err // a root without a record is fsck's to report
	}
	var r ShardRecord
	if err := decode(k, v, &r); err != nil {
		return err
	}
	r.Retired = t.now
	t.mustSet(k, encode(&r))
	return nil
}

// maxPathDepth bounds the walk up parent pointers, so that a damaged
// namespace with a parent cycle cannot loop.
const maxPathDepth = 4096

// pathOf returns the path of directory ino in the volume, from its
// parent pointers and its parent's dentries.
func (t *tx) pathOf(ino Ino) (string, error) {
	var names []string
	for depth := 0; ino != RootIno; depth++ {
		if depth == maxPathDepth {
			return "", errnof(syscall.ELOOP, "path of directory %d: deeper than %d levels", ino, maxPathDepth)
		}
		a, err := t.attr(ino)
		if err != nil {
			return "", err
		}
		name, err := t.nameIn(a.Parent, ino, 0)
		if err != nil {
			return "", err
		}
		names = append(names, name)
		ino = a.Parent
	}
	slices.Reverse(names)
	return "/" + strings.Join(names, "/"), nil
}

// nameIn returns the name under which dir lists child, looking at no
// more than limit entries (0: all of them).
func (t *tx) nameIn(dir, child Ino, limit int) (string, error) {
	start, end := dentryRange(dir, 0)
	var name string
	var derr error
	err := t.Scan(start, end, limit, func(k, v []byte) bool {
		var d Dentry
		if derr = decode(k, v, &d); derr != nil || d.Ino != child {
			return derr == nil
		}
		_, name = dentryName(k)
		return false
	})
	if err = firstErr(err, derr); err != nil {
		return "", fmt.Errorf("scan directory %d: %w", dir, err)
	}
	if name == "" {
		return "", errnof(syscall.ENOENT, "directory %d does not list inode %d", dir, child)
	}
	return name, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
