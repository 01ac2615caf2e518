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
	f.fsckClean()
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
	rep, err := f.s.Fsck(f.ctx)
	require.NoError(t, err)
	var lines []string
	for _, v := range rep.Violations {
		lines = append(lines, v.String())
	}
	all := strings.Join(lines, "\n")
	require.Contains(t, all, "/d/a (inode")
	require.Contains(t, all, "dentry names a missing inode")
	require.Contains(t, all, "/d/b (inode")
	require.Contains(t, all, "nlink 2, but 1 dentries")
	require.Contains(t, all, "unreachable inode")
	require.Contains(t, all, `counter 'i'`, "the stray inode is beyond the counter")
	require.Len(t, rep.Violations, 4, all)
}
