package metaservice

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

func testShards(t *testing.T, f *fixture) {
	d := f.mkdir(alice, RootIno, "site-a", 0755)
	f.create(alice, d.Ino, "x", 0644)
	_, err := f.s.CreateShard(f.ctx, Root, d.Ino, "/site-a")
	requireErrno(t, err, syscall.ENOTEMPTY)
	require.NoError(t, f.s.Unlink(f.ctx, alice, d.Ino, "x"))
	_, err = f.s.CreateShard(f.ctx, alice, d.Ino, "/site-a")
	requireErrno(t, err, syscall.EPERM)
	require.NoError(t, f.s.SetXattr(f.ctx, alice, d.Ino, "user.tag", []byte("kept"), 0))

	rec, err := f.s.CreateShard(f.ctx, Root, d.Ino, "/site-a")
	require.NoError(t, err)
	require.Equal(t, ShardID(1), rec.ID)
	root := f.lookup(RootIno, "site-a")
	require.Equal(t, d.Ino, root.Ino, "the shard root keeps its number")
	require.Equal(t, ShardID(1), root.ChildShard)
	_, err = f.s.CreateShard(f.ctx, Root, d.Ino, "/site-a")
	requireErrno(t, err, syscall.EEXIST)

	// Children are born in the new shard, and all their keys lie in its range.
	sub := f.mkdir(alice, root.Ino, "sub", 0755)
	file := f.create(alice, sub.Ino, "file", 0644)
	require.Equal(t, ShardID(1), sub.Ino.Shard())
	require.Equal(t, ShardID(1), file.Ino.Shard())
	start, end := shardRange(1)
	for _, k := range [][]byte{attrKey(file.Ino), dentryKey(sub.Ino, "file"), chunkKey(file.Ino, 3), xattrKey(file.Ino, "user.a")} {
		require.True(t, bytes.Compare(k, start) >= 0 && bytes.Compare(k, end) < 0, "key %q outside shard 1", k)
	}

	// Cross-shard rename keeps the inode number; cross-shard link works.
	require.NoError(t, f.s.Rename(f.ctx, alice, sub.Ino, "file", RootIno, "moved", 0))
	require.Equal(t, file.Ino, f.lookup(RootIno, "moved").Ino)
	_, err = f.s.Link(f.ctx, alice, file.Ino, sub.Ino, "back")
	require.NoError(t, err)
	require.NoError(t, f.s.Rename(f.ctx, alice, root.Ino, "sub", RootIno, "subdir", 0))
	require.Equal(t, RootIno, f.attr(sub.Ino).Parent)

	shards, err := f.s.ListShards(f.ctx)
	require.NoError(t, err)
	require.Len(t, shards, 2)
	require.Equal(t, int64(2), shards[1].Inodes) // sub, file
	require.Equal(t, start, shards[1].Start)
	require.Equal(t, "/site-a", shards[1].Where)
	require.Equal(t, "/", shards[0].Where)
	f.fsckClean()

	// A renamed root is listed where it is now.
	require.NoError(t, f.s.Rename(f.ctx, Root, RootIno, "site-a", RootIno, "site-b", 0))
	require.Equal(t, "/site-b", f.shards()[1].Where)
	f.fsckClean()
}

// testShardRootRemoval: removing a shard root, by rmdir or by a rename
// over it, retires its shard in the same transaction; the path can then
// root a new shard, and fsck stays clean.
func testShardRootRemoval(t *testing.T, f *fixture) {
	d := f.mkdir(Root, RootIno, "perth", 0755)
	first, err := f.s.CreateShard(f.ctx, Root, d.Ino, "/mnt/lis/perth")
	require.NoError(t, err)
	require.Equal(t, "/perth", first.Path, "the record keeps the path in the volume, not the client's")
	moved := f.create(Root, d.Ino, "moved-out", 0644)
	require.NoError(t, f.s.Rename(f.ctx, Root, d.Ino, "moved-out", RootIno, "kept", 0))
	require.NoError(t, f.s.Rmdir(f.ctx, Root, RootIno, "perth"))
	shards := f.shards()
	require.Len(t, shards, 2, "the retired shard keeps its record: inode %d still lives in its range", moved.Ino)
	require.NotZero(t, shards[1].Retired)
	require.Empty(t, shards[1].Where)
	f.fsckClean()

	d = f.mkdir(Root, RootIno, "perth", 0755)
	second, err := f.s.CreateShard(f.ctx, Root, d.Ino, "/perth")
	require.NoError(t, err)
	require.NotEqual(t, first.ID, second.ID)
	f.fsckClean()

	// A rename over the (empty) root retires it too.
	other := f.mkdir(Root, RootIno, "other", 0755)
	require.NoError(t, f.s.Rename(f.ctx, Root, RootIno, "other", RootIno, "perth", 0))
	shards = f.shards()
	require.NotZero(t, shards[2].Retired, "rename over a shard root")
	require.Equal(t, other.Ino, f.lookup(RootIno, "perth").Ino)
	f.fsckClean()
}

// testFsckFindsStaleShard plants a live shard record whose root is gone
// and one whose root is an ordinary directory; fsck reports both.
func testFsckFindsStaleShard(t *testing.T, f *fixture) {
	plain := f.mkdir(Root, RootIno, "plain", 0755)
	require.NoError(t, f.s.Engine().Txn(f.ctx, func(tx kv.Txn) error {
		for id, root := range map[ShardID]Ino{7: MakeIno(0, 424242), 8: plain.Ino} {
			rec := &ShardRecord{ID: id, Root: root, Path: "/planted"}
			for k, v := range map[string][]byte{string(shardRecordKey(id)): encode(rec),
				string(counterKey(id, cInode)): encodeUint(1), string(counterKey(id, cChunk)): encodeUint(1)} {
				if err := tx.Set([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	shards := f.shards()
	require.Len(t, shards, 3, "a stale record does not stop the listing")
	n, all := f.fsckViolations()
	require.Contains(t, all, "shard 7 (made at /planted) has no root")
	require.Contains(t, all, "/plain (inode")
	require.Contains(t, all, "shard 8 names this directory its root, but its children are born in shard 0")
	require.Equal(t, 2, n, all)
}

// fsckViolations runs fsck and returns how many violations it found and
// their descriptions, a line each.
func (f *fixture) fsckViolations() (int, string) {
	f.t.Helper()
	rep, err := f.s.Fsck(f.ctx)
	require.NoError(f.t, err)
	var lines []string
	for _, v := range rep.Violations {
		lines = append(lines, v.String())
	}
	return len(lines), strings.Join(lines, "\n")
}

func (f *fixture) shards() []ShardInfo {
	f.t.Helper()
	shards, err := f.s.ListShards(f.ctx)
	require.NoError(f.t, err)
	return shards
}

func testFsckFindsDamage(t *testing.T, f *fixture) {
	d := f.mkdir(alice, RootIno, "d", 0755)
	a := f.create(alice, d.Ino, "a", 0644)
	b := f.create(alice, d.Ino, "b", 0644)
	f.fsckClean()
	eng := f.s.Engine()
	require.NoError(t, eng.Txn(f.ctx, func(tx kv.Txn) error {
		// a's inode vanishes; b claims two links; a stray inode appears.
		if err := tx.Delete(attrKey(a.Ino)); err != nil {
			return err
		}
		b.Nlink = 2
		if err := tx.Set(attrKey(b.Ino), encode(b)); err != nil {
			return err
		}
		stray := &Attr{Ino: MakeIno(0, 999999), Mode: syscall.S_IFREG | 0644, Nlink: 1}
		return tx.Set(attrKey(stray.Ino), encode(stray))
	}))
	n, all := f.fsckViolations()
	require.Contains(t, all, "/d/a (inode")
	require.Contains(t, all, "dentry names a missing inode")
	require.Contains(t, all, "/d/b (inode")
	require.Contains(t, all, "nlink 2, but 1 dentries")
	require.Contains(t, all, "unreachable inode")
	require.Contains(t, all, `counter 'i'`, "the stray inode is beyond the counter")
	require.Equal(t, 4, n, all)
}
