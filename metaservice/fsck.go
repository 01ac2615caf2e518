package metaservice

import (
	"context"
	"fmt"
	"path"
	"syscall"
)

// Violation is one broken invariant found by Fsck.
type Violation struct {
	Path    string // path of the inode or entry, or "" when unreachable
	Ino     Ino
	Problem string
}

func (v Violation) String() string {
	p := v.Path
	if p == "" {
		p = "(unreachable)"
	}
	return fmt.Sprintf("%s (inode %d): %s", p, v.Ino, v.Problem)
}

// FsckReport is the result of a namespace check.
type FsckReport struct {
	Dirs, Files int
	Violations  []Violation
}

// Fsck walks the namespace from the root and checks every invariant: each
// dentry names an existing inode of the type it records; nlink counts
// match the dentries (2 + subdirectories for directories); directory
// parent pointers match; every inode is reachable or a registered orphan;
// chunk records belong to regular files and lie within them; open records
// name live sessions; per-shard counters are ahead of every id in use;
// every live shard's root is a reachable directory that roots it, and
// every directory rooting a shard has its live record.
// It reads in pages of bounded transactions, so it runs on namespaces of
// any size, and should be run on a quiet volume: concurrent changes can
// show up as transient violations.
func (s *Service) Fsck(ctx context.Context) (*FsckReport, error) {
	f := &fsck{s: s, rep: &FsckReport{}, links: map[Ino]uint32{}, subdirs: map[Ino]uint32{},
		paths: map[Ino]string{RootIno: "/"}, parents: map[Ino]Ino{RootIno: RootIno}, dirs: map[Ino]ShardID{}}
	if err := f.walk(ctx); err != nil {
		return nil, err
	}
	if err := f.checkShards(ctx); err != nil {
		return nil, err
	}
	return f.rep, nil
}

type fsck struct {
	s       *Service
	rep     *FsckReport
	links   map[Ino]uint32 // dentries naming each inode
	subdirs map[Ino]uint32 // subdirectories of each directory
	paths   map[Ino]string // first path seen of each inode
	parents map[Ino]Ino    // directory holding each directory
	maxIno  map[ShardID]uint64
	dirs    map[Ino]ShardID // reachable directories and the shard their children are born in
}

func (f *fsck) report(ino Ino, format string, args ...any) {
	f.rep.Violations = append(f.rep.Violations, Violation{Path: f.paths[ino], Ino: ino, Problem: fmt.Sprintf(format, args...)})
}

// walk lists every directory breadth-first, recording links.
func (f *fsck) walk(ctx context.Context) error {
	queue := []Ino{RootIno}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		f.rep.Dirs++
		start, end := dentryRange(dir, 0)
		err := f.s.scanPaged(ctx, start, end, func(k, v []byte) error {
			_, name := dentryName(k)
			var d Dentry
			if err := decode(k, v, &d); err != nil {
				return err
			}
			f.links[d.Ino]++
			if _, seen := f.paths[d.Ino]; !seen {
				f.paths[d.Ino] = path.Join(f.paths[dir], name)
			}
			if d.Type == syscall.S_IFDIR {
				if prev, ok := f.parents[d.Ino]; ok {
					f.report(d.Ino, "directory linked from both %d and %d", prev, dir)
					return nil
				}
				f.parents[d.Ino] = dir
				f.subdirs[dir]++
				queue = append(queue, d.Ino)
			} else {
				f.rep.Files++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fsck: list %s: %w", f.paths[dir], err)
		}
	}
	return nil
}

// checkShards scans every shard's inodes, chunks and open records.
func (f *fsck) checkShards(ctx context.Context) error {
	shards, err := f.s.ListShards(ctx)
	if err != nil {
		return err
	}
	known := map[ShardID]bool{}
	for _, sh := range shards {
		known[sh.ID] = true
	}
	for _, sh := range shards {
		if err := f.checkInodes(ctx, sh.ID); err != nil {
			return err
		}
		if err := f.checkChunks(ctx, sh.ID); err != nil {
			return err
		}
		if err := f.checkOpens(ctx, sh.ID); err != nil {
			return err
		}
	}
	for ino := range f.links {
		if !known[ino.Shard()] {
			f.report(ino, "inode in unregistered shard %d", ino.Shard())
		}
	}
	f.checkShardRoots(shards)
	return nil
}

func (f *fsck) checkInodes(ctx context.Context, shard ShardID) error {
	start, end := kindRange(shard, kAttr)
	var maxLocal uint64
	seen := map[Ino]bool{}
	err := f.s.scanPaged(ctx, start, end, func(k, v []byte) error {
		var a Attr
		if err := decode(k, v, &a); err != nil {
			return err
		}
		ino := inoOfKey(k)
		seen[ino] = true
		maxLocal = max(maxLocal, ino.Local())
		if a.Ino != ino {
			f.report(ino, "attribute record names inode %d", a.Ino)
		}
		return f.checkInode(ctx, &a)
	})
	if err != nil {
		return fmt.Errorf("fsck: shard %d inodes: %w", shard, err)
	}
	for ino := range f.links {
		if ino.Shard() == shard && !seen[ino] {
			f.report(ino, "dentry names a missing inode")
		}
	}
	return f.checkCounter(ctx, shard, cInode, maxLocal)
}

func (f *fsck) checkInode(ctx context.Context, a *Attr) error {
	links := f.links[a.Ino]
	if links == 0 && a.Ino != RootIno {
		orphan, err := f.s.isOrphan(ctx, a.Ino)
		if err != nil {
			return err
		}
		if !orphan || a.Nlink != 0 {
			f.report(a.Ino, "unreachable inode with nlink %d", a.Nlink)
		}
		return nil
	}
	if a.IsDir() {
		f.dirs[a.Ino] = a.ChildShard
		if want := 2 + f.subdirs[a.Ino]; a.Nlink != want {
			f.report(a.Ino, "directory nlink %d, want %d", a.Nlink, want)
		}
		if p := f.parents[a.Ino]; p != a.Parent {
			f.report(a.Ino, "parent pointer %d, but listed in %d", a.Parent, p)
		}
		return nil
	}
	if a.Nlink != links {
		f.report(a.Ino, "nlink %d, but %d dentries", a.Nlink, links)
	}
	return nil
}

func (s *Service) isOrphan(ctx context.Context, ino Ino) (bool, error) {
	var orphan bool
	err := s.view(ctx, func(t *tx) error {
		v, err := t.Get(orphanKey(ino))
		orphan = v != nil
		return err
	})
	return orphan, err
}

func (f *fsck) checkChunks(ctx context.Context, shard ShardID) error {
	start, end := kindRange(shard, kChunk)
	var maxLocal uint64
	blocks := map[Ino]uint64{} // data blocks per file, from its chunks
	attrs := map[Ino]*Attr{}
	err := f.s.scanPaged(ctx, start, end, func(k, v []byte) error {
		var c ChunkRecord
		if err := decode(k, v, &c); err != nil {
			return err
		}
		if c.ID.Shard() == shard {
			maxLocal = max(maxLocal, c.ID.Local())
		}
		ino, idx := inoOfKey(k), chunkIndexOf(k)
		a, err := f.s.GetAttr(ctx, ino)
		switch {
		case IsErrno(err, syscall.ENOENT):
			f.report(ino, "chunk %d (%s) of a missing inode", idx, c.ID)
		case err != nil:
			return err
		case a.Type() != syscall.S_IFREG:
			f.report(ino, "chunk %d (%s) on a non-regular file", idx, c.ID)
		case uint64(idx)*ChunkSize >= a.Size && a.Size > 0 || a.Size == 0 && c.Version > 0:
			f.report(ino, "chunk %d (%s) past the end of the file (size %d)", idx, c.ID, a.Size)
		default:
			blocks[ino] += uint64(c.Blocks)
			attrs[ino] = a
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fsck: shard %d chunks: %w", shard, err)
	}
	for ino, n := range blocks {
		if a := attrs[ino]; a.BlocksKnown && a.DataBlocks != n {
			f.report(ino, "charged %d data blocks, its chunks hold %d", a.DataBlocks, n)
		}
	}
	return f.checkCounter(ctx, shard, cChunk, maxLocal)
}

func (f *fsck) checkOpens(ctx context.Context, shard ShardID) error {
	sessions, err := f.s.ListSessions(ctx)
	if err != nil {
		return err
	}
	live := map[uint64]bool{}
	for _, s := range sessions {
		live[s.ID] = true
	}
	start, end := kindRange(shard, kOpen)
	return f.s.scanPaged(ctx, start, end, func(k, v []byte) error {
		o := openTable{}
		if err := decode(k, v, &o); err != nil {
			return err
		}
		for id := range o {
			if !live[id] {
				f.report(inoOfKey(k), "held open by unknown session %d", id)
			}
		}
		return nil
	})
}

func (f *fsck) checkCounter(ctx context.Context, shard ShardID, which byte, maxLocal uint64) error {
	return f.s.view(ctx, func(t *tx) error {
		k := counterKey(shard, which)
		v, err := t.Get(k)
		if err != nil {
			return err
		}
		next, err := decodeUint(k, v)
		if err != nil {
			return err
		}
		if next <= maxLocal {
			f.rep.Violations = append(f.rep.Violations, Violation{
				Problem: fmt.Sprintf("shard %d counter %q at %d, but %d is in use", shard, which, next, maxLocal)})
		}
		return nil
	})
}

// scanPaged calls fn for every key in [start, end), reading pages of
// bounded size in separate transactions.
func (s *Service) scanPaged(ctx context.Context, start, end []byte, fn func(k, v []byte) error) error {
	const page = 1024
	for {
		type kvp struct{ k, v []byte }
		var batch []kvp
		err := s.view(ctx, func(t *tx) error {
			batch = batch[:0]
			return t.Scan(start, end, page, func(k, v []byte) bool {
				batch = append(batch, kvp{append([]byte(nil), k...), append([]byte(nil), v...)})
				return true
			})
		})
		if err != nil {
			return err
		}
		for _, p := range batch {
			if err := fn(p.k, p.v); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		start = append(batch[len(batch)-1].k, 0)
	}
}
