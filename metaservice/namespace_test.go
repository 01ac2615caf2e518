package metaservice

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func testCreateLookup(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	require.Equal(t, uint32(syscall.S_IFREG|0644), a.Mode)
	require.Equal(t, uint32(1), a.Nlink)
	require.Equal(t, alice.Uid, a.Uid)
	require.Equal(t, RootShard, a.Ino.Shard())

	got := f.lookup(RootIno, "f")
	require.Equal(t, a.Ino, got.Ino)
	require.Equal(t, RootIno, f.lookup(RootIno, ".").Ino)
	require.Equal(t, RootIno, f.lookup(RootIno, "..").Ino)

	_, err := f.s.Mknod(f.ctx, alice, RootIno, "f", NewNode{Mode: 0644})
	requireErrno(t, err, syscall.EEXIST)
	// A non-exclusive create opens the existing file.
	again, err := f.s.Create(f.ctx, alice, RootIno, "f", NewNode{Mode: 0600}, 0)
	require.NoError(t, err)
	require.Equal(t, a.Ino, again.Ino)
	_, err = f.s.Create(f.ctx, alice, RootIno, "f", NewNode{Mode: 0600, Exclusive: true}, 0)
	requireErrno(t, err, syscall.EEXIST)

	_, err = f.s.Lookup(f.ctx, alice, RootIno, "missing")
	requireErrno(t, err, syscall.ENOENT)
	_, err = f.s.Lookup(f.ctx, alice, a.Ino, "x")
	requireErrno(t, err, syscall.ENOTDIR)

	root := f.attr(RootIno)
	require.Equal(t, f.now.UnixNano(), root.Mtime)

	for _, typ := range []uint32{syscall.S_IFIFO, syscall.S_IFSOCK} {
		n, err := f.s.Mknod(f.ctx, alice, RootIno, fmt.Sprintf("node%o", typ), NewNode{Mode: typ | 0600})
		require.NoError(t, err)
		require.Equal(t, typ, n.Type())
	}
	_, err = f.s.Mknod(f.ctx, alice, RootIno, "dev", NewNode{Mode: syscall.S_IFCHR | 0600, Rdev: 0x0103})
	requireErrno(t, err, syscall.EPERM)
	dev, err := f.s.Mknod(f.ctx, Root, RootIno, "dev", NewNode{Mode: syscall.S_IFBLK | 0600, Rdev: 0x0801})
	require.NoError(t, err)
	require.Equal(t, uint32(0x0801), dev.Rdev)

	l, err := f.s.Symlink(f.ctx, alice, RootIno, "l", "some/target")
	require.NoError(t, err)
	target, err := f.s.ReadLink(f.ctx, l.Ino)
	require.NoError(t, err)
	require.Equal(t, "some/target", target)
	require.Equal(t, uint64(len("some/target")), l.Size)
	_, err = f.s.ReadLink(f.ctx, a.Ino)
	requireErrno(t, err, syscall.EINVAL)
	f.fsckClean()
}

func testNames(t *testing.T, f *fixture) {
	long := strings.Repeat("x", MaxNameLen)
	f.create(alice, RootIno, long, 0644)
	_, err := f.s.Mknod(f.ctx, alice, RootIno, long+"y", NewNode{Mode: 0644})
	requireErrno(t, err, syscall.ENAMETOOLONG)
	_, err = f.s.Lookup(f.ctx, alice, RootIno, long+"y")
	requireErrno(t, err, syscall.ENAMETOOLONG)
	_, err = f.s.Mkdir(f.ctx, alice, RootIno, "a/b", NewNode{Mode: 0755})
	requireErrno(t, err, syscall.EINVAL)
	_, err = f.s.Mkdir(f.ctx, alice, RootIno, "..", NewNode{Mode: 0755})
	requireErrno(t, err, syscall.EEXIST)
	_, err = f.s.Symlink(f.ctx, alice, RootIno, "s", strings.Repeat("t", MaxSymlinkLen+1))
	requireErrno(t, err, syscall.ENAMETOOLONG)
	// Creating in a directory one may not write is EACCES.
	d := f.mkdir(Root, RootIno, "locked", 0755)
	_, err = f.s.Mknod(f.ctx, alice, d.Ino, "x", NewNode{Mode: 0644})
	requireErrno(t, err, syscall.EACCES)
	// Lookup needs search permission.
	_, err = f.s.SetAttr(f.ctx, Root, d.Ino, SetAttrIn{Valid: SetMode, Mode: 0700})
	require.NoError(t, err)
	f.create(Root, d.Ino, "inside", 0644)
	_, err = f.s.Lookup(f.ctx, alice, d.Ino, "inside")
	requireErrno(t, err, syscall.EACCES)
}

func testMkdirRmdir(t *testing.T, f *fixture) {
	d := f.mkdir(alice, RootIno, "d", 0755)
	require.True(t, d.IsDir())
	require.Equal(t, uint32(2), d.Nlink)
	require.Equal(t, uint32(3), f.attr(RootIno).Nlink)
	sub := f.mkdir(alice, d.Ino, "sub", 0700)
	require.Equal(t, d.Ino, sub.Parent)
	require.Equal(t, uint32(3), f.attr(d.Ino).Nlink)
	require.Equal(t, d.Ino, f.lookup(sub.Ino, "..").Ino)

	requireErrno(t, f.s.Rmdir(f.ctx, alice, RootIno, "d"), syscall.ENOTEMPTY)
	requireErrno(t, f.s.Rmdir(f.ctx, alice, d.Ino, "."), syscall.EINVAL)
	requireErrno(t, f.s.Rmdir(f.ctx, alice, d.Ino, ".."), syscall.ENOTEMPTY)
	f.create(alice, d.Ino, "file", 0644)
	requireErrno(t, f.s.Rmdir(f.ctx, alice, d.Ino, "file"), syscall.ENOTDIR)
	requireErrno(t, f.s.Unlink(f.ctx, alice, d.Ino, "sub"), syscall.EISDIR)
	require.NoError(t, f.s.Rmdir(f.ctx, alice, d.Ino, "sub"))
	require.NoError(t, f.s.Unlink(f.ctx, alice, d.Ino, "file"))
	require.NoError(t, f.s.Rmdir(f.ctx, alice, RootIno, "d"))
	require.Equal(t, uint32(2), f.attr(RootIno).Nlink)
	_, err := f.s.GetAttr(f.ctx, d.Ino)
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()
}

func testLinkUnlink(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "a", 0644)
	d := f.mkdir(alice, RootIno, "d", 0755)
	l, err := f.s.Link(f.ctx, alice, a.Ino, d.Ino, "b")
	require.NoError(t, err)
	require.Equal(t, uint32(2), l.Nlink)
	require.Greater(t, l.Ctime, int64(0))
	_, err = f.s.Link(f.ctx, alice, a.Ino, d.Ino, "b")
	requireErrno(t, err, syscall.EEXIST)
	_, err = f.s.Link(f.ctx, alice, d.Ino, RootIno, "dlink")
	requireErrno(t, err, syscall.EPERM)

	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "a"))
	require.Equal(t, uint32(1), f.attr(a.Ino).Nlink)
	requireErrno(t, f.s.Unlink(f.ctx, alice, RootIno, "a"), syscall.ENOENT)
	require.NoError(t, f.s.Unlink(f.ctx, alice, d.Ino, "b"))
	_, err = f.s.GetAttr(f.ctx, a.Ino)
	requireErrno(t, err, syscall.ENOENT)
	f.fsckClean()
}

func testRename(t *testing.T, f *fixture) {
	d1 := f.mkdir(alice, RootIno, "d1", 0755)
	d2 := f.mkdir(alice, RootIno, "d2", 0755)
	a := f.create(alice, d1.Ino, "a", 0644)

	require.NoError(t, f.s.Rename(f.ctx, alice, d1.Ino, "a", d2.Ino, "b", 0))
	require.Equal(t, a.Ino, f.lookup(d2.Ino, "b").Ino)
	require.Equal(t, d2.Ino, f.attr(a.Ino).Parent)
	_, err := f.s.Lookup(f.ctx, alice, d1.Ino, "a")
	requireErrno(t, err, syscall.ENOENT)

	// Replacing a file frees the old target.
	c := f.create(alice, d2.Ino, "c", 0644)
	require.NoError(t, f.s.Rename(f.ctx, alice, d2.Ino, "b", d2.Ino, "c", 0))
	_, err = f.s.GetAttr(f.ctx, c.Ino)
	requireErrno(t, err, syscall.ENOENT)
	require.Equal(t, a.Ino, f.lookup(d2.Ino, "c").Ino)

	// Renaming onto the same inode is a no-op.
	_, err = f.s.Link(f.ctx, alice, a.Ino, d2.Ino, "hard")
	require.NoError(t, err)
	require.NoError(t, f.s.Rename(f.ctx, alice, d2.Ino, "c", d2.Ino, "hard", 0))
	require.Equal(t, a.Ino, f.lookup(d2.Ino, "c").Ino)
	requireErrno(t, f.s.Rename(f.ctx, alice, d2.Ino, "c", d2.Ino, "hard", RenameNoReplace), syscall.EEXIST)

	f.create(alice, d1.Ino, "x", 0644)
	requireErrno(t, f.s.Rename(f.ctx, alice, d2.Ino, "c", d1.Ino, "x", RenameNoReplace), syscall.EEXIST)

	// Directory moves fix both parents' link counts.
	sub := f.mkdir(alice, d1.Ino, "sub", 0755)
	require.NoError(t, f.s.Rename(f.ctx, alice, d1.Ino, "sub", d2.Ino, "sub", 0))
	require.Equal(t, uint32(2), f.attr(d1.Ino).Nlink)
	require.Equal(t, uint32(3), f.attr(d2.Ino).Nlink)
	require.Equal(t, d2.Ino, f.attr(sub.Ino).Parent)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "d2", sub.Ino, "loop", 0), syscall.EINVAL)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "d2", d2.Ino, "self", 0), syscall.EINVAL)

	// Directory over directory: only onto an empty one.
	empty := f.mkdir(alice, RootIno, "empty", 0755)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "empty", d2.Ino, "c", 0), syscall.ENOTDIR)
	requireErrno(t, f.s.Rename(f.ctx, alice, d2.Ino, "c", RootIno, "empty", 0), syscall.EISDIR)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "empty", RootIno, "d2", 0), syscall.ENOTEMPTY)
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "d1", RootIno, "empty", 0))
	_, err = f.s.GetAttr(f.ctx, empty.Ino)
	requireErrno(t, err, syscall.ENOENT)
	require.Equal(t, uint32(4), f.attr(RootIno).Nlink) // d2, empty(d1)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "nope", RootIno, "x", 0), syscall.ENOENT)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "d2", RootIno, "x", RenameWhiteout), syscall.EINVAL)
	f.fsckClean()
}

func testRenameExchange(t *testing.T, f *fixture) {
	d1 := f.mkdir(alice, RootIno, "d1", 0755)
	file := f.create(alice, RootIno, "file", 0644)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "file", RootIno, "none", RenameExchange), syscall.ENOENT)
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "file", RootIno, "d1", RenameExchange))
	require.Equal(t, file.Ino, f.lookup(RootIno, "d1").Ino)
	require.Equal(t, d1.Ino, f.lookup(RootIno, "file").Ino)

	// Exchange across directories moves the directory's parent and links.
	d2 := f.mkdir(alice, RootIno, "d2", 0755)
	inner := f.create(alice, d2.Ino, "inner", 0644)
	require.NoError(t, f.s.Rename(f.ctx, alice, RootIno, "file", d2.Ino, "inner", RenameExchange))
	require.Equal(t, d2.Ino, f.attr(d1.Ino).Parent)
	require.Equal(t, RootIno, f.attr(inner.Ino).Parent)
	require.Equal(t, uint32(3), f.attr(d2.Ino).Nlink)
	// A directory may not be swapped into its own subtree.
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "d2", d1.Ino, "x", RenameExchange), syscall.ENOENT)
	f.create(alice, d1.Ino, "x", 0644)
	requireErrno(t, f.s.Rename(f.ctx, alice, RootIno, "d2", d1.Ino, "x", RenameExchange), syscall.EINVAL)
	f.fsckClean()
}

func testReadDirCookies(t *testing.T, f *fixture) {
	d := f.mkdir(alice, RootIno, "big", 0755)
	const n = 2500
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("entry-%05d", i)
		f.create(alice, d.Ino, name, 0644)
		want[name] = true
	}
	// Page through while deleting entries already listed and entries not
	// yet listed: every entry present throughout is listed exactly once.
	seen := map[string]int{}
	deletedAhead := map[string]bool{}
	cookie := uint64(0)
	for page := 0; ; page++ {
		ents, err := f.s.ReadDir(f.ctx, alice, d.Ino, cookie, 97, page%2 == 0)
		require.NoError(t, err)
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			seen[e.Name]++
			if page%2 == 0 {
				require.NotNil(t, e.Attr, e.Name)
				require.Equal(t, e.Ino, e.Attr.Ino)
			}
		}
		cookie = ents[len(ents)-1].Cookie
		victim := fmt.Sprintf("entry-%05d", (page*37)%n)
		if seen[victim] == 0 && want[victim] {
			require.NoError(t, f.s.Unlink(f.ctx, alice, d.Ino, victim))
			deletedAhead[victim] = true
		}
	}
	require.Equal(t, 1, seen["."])
	require.Equal(t, 1, seen[".."])
	for name := range want {
		if deletedAhead[name] {
			require.Zero(t, seen[name], name)
			continue
		}
		require.Equal(t, 1, seen[name], name)
	}
	names := f.names(d.Ino)
	require.Len(t, names, n-len(deletedAhead))
}
