package metaservice

import (
	"context"
	"fmt"
	"syscall"

	"github.com/lis-fs/lis/metaservice/kv"
)

// ShardInfo describes a shard for `lis shard list`.
type ShardInfo struct {
	ShardRecord
	Start, End []byte // key range [Start, End) in the volume's key space
	Inodes     int64
	Bytes      int64
}

// CreateShard turns the empty directory dir into the root of a new shard:
// everything created under it from now on lives in the new shard's key
// range. The directory gets a new inode number in the new shard (its home
// shard is part of the number); it must be empty, so nothing else refers
// to the old number. path is recorded for display.
func (s *Service) CreateShard(ctx context.Context, c *Cred, dir Ino, path string) (*ShardRecord, error) {
	if c.Uid != 0 {
		return nil, errnof(syscall.EPERM, "create shard: uid %d is not root", c.Uid)
	}
	if dir == RootIno {
		return nil, errnof(syscall.EINVAL, "create shard: the root is already shard 0's root")
	}
	var rec *ShardRecord
	err := s.update(ctx, func(t *tx) error {
		id, err := t.nextShardID()
		if err != nil {
			return err
		}
		old, err := t.dir(dir)
		if err != nil {
			return err
		}
		if err := t.mustBeEmpty(old); err != nil {
			return err
		}
		parent, err := t.dir(old.Parent)
		if err != nil {
			return err
		}
		name, err := t.nameIn(parent.Ino, dir)
		if err != nil {
			return err
		}
		root := *old
		root.Ino = MakeIno(id, 1)
		if err := t.moveInodeKeys(old.Ino, root.Ino); err != nil {
			return err
		}
		t.mustDelete(attrKey(old.Ino))
		t.putAttr(&root)
		t.putDentry(parent.Ino, name, &Dentry{Ino: root.Ino, Type: root.Type()})
		rec = &ShardRecord{ID: id, Root: root.Ino, Path: path, Created: t.now}
		t.mustSet(shardRecordKey(id), encode(rec))
		t.mustSet(counterKey(id, cInode), encodeUint(2))
		t.mustSet(counterKey(id, cChunk), encodeUint(1))
		t.usageDelta(old.Ino.Shard(), -1, 0)
		t.usageDelta(id, 1, 0)
		t.onCommit(s.policies.invalidate)
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

// nameIn finds the name under which parent holds ino, by scanning the
// parent's entries: only administrative operations need this.
func (t *tx) nameIn(parent, ino Ino) (string, error) {
	start, end := dentryRange(parent, 0)
	var name string
	var derr error
	err := t.Scan(start, end, 0, func(k, v []byte) bool {
		var d Dentry
		if derr = decode(k, v, &d); derr != nil {
			return false
		}
		if d.Ino == ino {
			_, name = dentryName(k)
			return false
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err == nil && name == "" {
		err = errnof(syscall.ENOENT, "inode %d not found in its parent %d", ino, parent)
	}
	return name, err
}

// moveInodeKeys moves an (empty) directory's xattrs and policy to its new
// number.
func (t *tx) moveInodeKeys(from, to Ino) error {
	p := xattrPrefix(from)
	type kvp struct {
		name string
		v    []byte
	}
	var xs []kvp
	err := t.Scan(p, prefixEnd(p), 0, func(k, v []byte) bool {
		xs = append(xs, kvp{string(k[len(p):]), append([]byte(nil), v...)})
		return true
	})
	if err != nil {
		return err
	}
	for _, x := range xs {
		t.mustDelete(xattrKey(from, x.name))
		t.mustSet(xattrKey(to, x.name), x.v)
	}
	if v, err := t.Get(policyKey(from)); err != nil {
		return err
	} else if v != nil {
		t.mustDelete(policyKey(from))
		t.mustSet(policyKey(to), v)
	}
	return nil
}

// ListShards returns every shard with its key range and usage.
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
		}
		return nil
	})
	return out, err
}

// SetShardSite records the site a shard's leaders should live in, for
// placement rules.
func (s *Service) SetShardSite(ctx context.Context, id ShardID, site string) error {
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

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
