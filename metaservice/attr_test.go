package metaservice

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func testSetAttrRules(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	// chmod: owner yes, others no; a non-member loses setgid.
	_, err := f.s.SetAttr(f.ctx, bob, a.Ino, SetAttrIn{Valid: SetMode, Mode: 0777})
	requireErrno(t, err, syscall.EPERM)
	got, err := f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetMode, Mode: 02755})
	require.NoError(t, err)
	require.Equal(t, uint32(syscall.S_IFREG|02755), got.Mode)
	_, err = f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetGid, Gid: 50})
	require.NoError(t, err)
	got, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetMode, Mode: 02755})
	require.NoError(t, err)
	require.Equal(t, uint32(0755), got.Perm(), "setgid dropped for a non-member")

	// chown: only root changes the owner; the owner may pick its groups.
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetUid, Uid: bob.Uid})
	requireErrno(t, err, syscall.EPERM)
	member := &Cred{Uid: alice.Uid, Gid: alice.Gid, Groups: []uint32{77}}
	_, err = f.s.SetAttr(f.ctx, member, a.Ino, SetAttrIn{Valid: SetGid, Gid: 78})
	requireErrno(t, err, syscall.EPERM)
	got, err = f.s.SetAttr(f.ctx, member, a.Ino, SetAttrIn{Valid: SetGid, Gid: 77})
	require.NoError(t, err)
	require.Equal(t, uint32(77), got.Gid)
	_, err = f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetMode, Mode: 06755})
	require.NoError(t, err)
	got, err = f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetUid | SetGid, Uid: bob.Uid, Gid: bob.Gid})
	require.NoError(t, err)
	require.Equal(t, bob.Uid, got.Uid)
	require.Equal(t, uint32(0755), got.Perm(), "chown clears setuid and group-executable setgid")

	// Times: explicit values only by the owner; "now" by anyone who may write.
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetMtime, Mtime: 5})
	requireErrno(t, err, syscall.EPERM)
	_, err = f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetMode, Mode: 0666})
	require.NoError(t, err)
	f.now = f.now.Add(1e9)
	got, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetMtimeNow | SetAtimeNow})
	require.NoError(t, err)
	require.Equal(t, f.now.UnixNano(), got.Mtime)
	got, err = f.s.SetAttr(f.ctx, bob, a.Ino, SetAttrIn{Valid: SetMtime | SetAtime, Mtime: 5, Atime: 6})
	require.NoError(t, err)
	require.Equal(t, int64(5), got.Mtime)
	require.Equal(t, int64(6), got.Atime)
	require.Equal(t, f.now.UnixNano(), got.Ctime)

	// Size: regular files only, with write permission unless via a handle.
	got, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize, Size: 1 << 40})
	require.NoError(t, err)
	require.Equal(t, uint64(1<<40), got.Size)
	_, err = f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetMode, Mode: 0644})
	require.NoError(t, err)
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize, Size: 0})
	requireErrno(t, err, syscall.EACCES)
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetSize | SetFromHandle, Size: 0})
	require.NoError(t, err)
	_, err = f.s.SetAttr(f.ctx, alice, RootIno, SetAttrIn{Valid: SetSize, Size: 0})
	requireErrno(t, err, syscall.EISDIR)
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: 1 << 20})
	requireErrno(t, err, syscall.EINVAL)
}

// testKillPriv checks what the client relies on once the kernel leaves
// privilege dropping to Lis: setuid goes on SetKillPriv, capabilities go
// on every content change and chown.
func testKillPriv(t *testing.T, f *fixture) {
	a := f.create(Root, RootIno, "prog", 06755)
	require.NoError(t, f.s.SetXattr(f.ctx, Root, a.Ino, xattrCaps, []byte("caps"), 0))
	require.True(t, f.attr(a.Ino).HasCaps)
	got, err := f.s.SetAttr(f.ctx, Root, a.Ino, SetAttrIn{Valid: SetKillPriv})
	require.NoError(t, err)
	require.Equal(t, uint32(0755), got.Perm())
	_, err = f.s.GetXattr(f.ctx, Root, a.Ino, xattrCaps)
	requireErrno(t, err, syscall.ENODATA)

	require.NoError(t, f.s.SetXattr(f.ctx, Root, a.Ino, xattrCaps, []byte("caps"), 0))
	_, err = f.s.CommitWrite(f.ctx, a.Ino, 10, 0, nil)
	require.NoError(t, err)
	_, err = f.s.GetXattr(f.ctx, Root, a.Ino, xattrCaps)
	requireErrno(t, err, syscall.ENODATA) // a write drops capabilities
	require.False(t, f.attr(a.Ino).HasCaps)

	// Without group execute, setgid stays (it means mandatory locking).
	b := f.create(Root, RootIno, "locking", 02644)
	got, err = f.s.SetAttr(f.ctx, Root, b.Ino, SetAttrIn{Valid: SetKillPriv})
	require.NoError(t, err)
	require.Equal(t, uint32(02644), got.Perm())
}

func testStickyAndSetgid(t *testing.T, f *fixture) {
	tmp := f.mkdir(Root, RootIno, "tmp", 01777)
	f.create(alice, tmp.Ino, "alices", 0644)
	requireErrno(t, f.s.Unlink(f.ctx, bob, tmp.Ino, "alices"), syscall.EPERM)
	requireErrno(t, f.s.Rename(f.ctx, bob, tmp.Ino, "alices", tmp.Ino, "mine", 0), syscall.EPERM)
	require.NoError(t, f.s.Unlink(f.ctx, alice, tmp.Ino, "alices"))

	sg := f.mkdir(Root, RootIno, "sg", 02777)
	_, err := f.s.SetAttr(f.ctx, Root, sg.Ino, SetAttrIn{Valid: SetGid, Gid: 500})
	require.NoError(t, err)
	file := f.create(alice, sg.Ino, "file", 02755)
	require.Equal(t, uint32(500), file.Gid, "inherits the directory's group")
	require.Equal(t, uint32(0755), file.Perm(), "setgid dropped: alice is not in group 500")
	sub := f.mkdir(alice, sg.Ino, "sub", 0755)
	require.Equal(t, uint32(500), sub.Gid)
	require.Equal(t, uint32(02755), sub.Perm(), "subdirectories inherit setgid")
}

func testXattrs(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0644)
	require.NoError(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.k", []byte("v1"), 0))
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.k", []byte("v2"), XattrCreate), syscall.EEXIST)
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.new", []byte("v"), XattrReplace), syscall.ENODATA)
	require.NoError(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.k", []byte("v2"), XattrReplace))
	v, err := f.s.GetXattr(f.ctx, alice, a.Ino, "user.k")
	require.NoError(t, err)
	require.Equal(t, "v2", string(v))
	require.NoError(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.empty", []byte{}, 0))
	v, err = f.s.GetXattr(f.ctx, alice, a.Ino, "user.empty")
	require.NoError(t, err)
	require.Empty(t, v)
	names, err := f.s.ListXattr(f.ctx, alice, a.Ino)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"user.k", "user.empty"}, names)

	requireErrno(t, f.s.SetXattr(f.ctx, bob, a.Ino, "user.k", []byte("x"), 0), syscall.EACCES)
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, "trusted.k", []byte("x"), 0), syscall.EPERM)
	require.NoError(t, f.s.SetXattr(f.ctx, Root, a.Ino, "trusted.k", []byte("x"), 0))
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, "bogus.k", []byte("x"), 0), syscall.EOPNOTSUPP)
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, "user.big", make([]byte, MaxXattrValue+1), 0), syscall.E2BIG)
	_, err = f.s.GetXattr(f.ctx, alice, a.Ino, "user.none")
	requireErrno(t, err, syscall.ENODATA)
	require.NoError(t, f.s.RemoveXattr(f.ctx, alice, a.Ino, "user.k"))
	requireErrno(t, f.s.RemoveXattr(f.ctx, alice, a.Ino, "user.k"), syscall.ENODATA)

	// The list of names is capped like Linux's (64 KiB).
	many := f.create(alice, RootIno, "many", 0644)
	name := strings.Repeat("n", 240)
	for i := 0; i < 270; i++ {
		require.NoError(t, f.s.SetXattr(f.ctx, alice, many.Ino, fmt.Sprintf("user.%03d%s", i, name), nil, 0))
	}
	_, err = f.s.ListXattr(f.ctx, alice, many.Ino)
	requireErrno(t, err, syscall.E2BIG)

	l, err := f.s.Symlink(f.ctx, alice, RootIno, "l", "f")
	require.NoError(t, err)
	requireErrno(t, f.s.SetXattr(f.ctx, alice, l.Ino, "user.k", []byte("x"), 0), syscall.EPERM)
	// Xattrs go with the inode.
	require.NoError(t, f.s.Unlink(f.ctx, alice, RootIno, "f"))
	f.fsckClean()
}

func aclBytes(entries ...aclEntry) []byte { return acl(entries).encode() }

func testACL(t *testing.T, f *fixture) {
	a := f.create(alice, RootIno, "f", 0600)
	_, err := f.s.Open(f.ctx, bob, a.Ino, syscall.O_RDONLY, 0)
	requireErrno(t, err, syscall.EACCES)
	// Give bob read through a named-user entry.
	ac := aclBytes(
		aclEntry{aclUserObj, 6, aclNoID}, aclEntry{aclUser, 4, bob.Uid},
		aclEntry{aclGroupObj, 0, aclNoID}, aclEntry{aclMask, 4, aclNoID}, aclEntry{aclOther, 0, aclNoID})
	requireErrno(t, f.s.SetXattr(f.ctx, bob, a.Ino, xattrACLAccess, ac, 0), syscall.EPERM)
	require.NoError(t, f.s.SetXattr(f.ctx, alice, a.Ino, xattrACLAccess, ac, 0))
	require.Equal(t, uint32(0640), f.attr(a.Ino).Perm(), "group bits show the mask")
	_, err = f.s.Open(f.ctx, bob, a.Ino, syscall.O_RDONLY, 0)
	require.NoError(t, err)
	_, err = f.s.Open(f.ctx, bob, a.Ino, syscall.O_RDWR, 0)
	requireErrno(t, err, syscall.EACCES)
	// chmod rewrites the mask: g-r removes bob's read.
	_, err = f.s.SetAttr(f.ctx, alice, a.Ino, SetAttrIn{Valid: SetMode, Mode: 0600})
	require.NoError(t, err)
	_, err = f.s.Open(f.ctx, bob, a.Ino, syscall.O_RDONLY, 0)
	requireErrno(t, err, syscall.EACCES)
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, xattrACLAccess, []byte{1, 2, 3}, 0), syscall.EINVAL)

	// A default ACL is inherited, and the umask is ignored under it.
	d := f.mkdir(alice, RootIno, "d", 0755)
	def := aclBytes(
		aclEntry{aclUserObj, 7, aclNoID}, aclEntry{aclUser, 7, bob.Uid},
		aclEntry{aclGroupObj, 5, aclNoID}, aclEntry{aclMask, 7, aclNoID}, aclEntry{aclOther, 0, aclNoID})
	requireErrno(t, f.s.SetXattr(f.ctx, alice, a.Ino, xattrACLDefault, def, 0), syscall.EACCES)
	require.NoError(t, f.s.SetXattr(f.ctx, alice, d.Ino, xattrACLDefault, def, 0))
	child, err := f.s.Mknod(f.ctx, alice, d.Ino, "child", NewNode{Mode: 0666, Umask: 077})
	require.NoError(t, err)
	require.Equal(t, uint32(0660), child.Perm())
	_, err = f.s.Open(f.ctx, bob, child.Ino, syscall.O_RDWR, 0)
	require.NoError(t, err)
	sub, err := f.s.Mkdir(f.ctx, alice, d.Ino, "sub", NewNode{Mode: 0777, Umask: 022})
	require.NoError(t, err)
	v, err := f.s.GetXattr(f.ctx, alice, sub.Ino, xattrACLDefault)
	require.NoError(t, err)
	require.Equal(t, def, v)
	// Without a default ACL the umask applies.
	plain, err := f.s.Mknod(f.ctx, alice, RootIno, "plain", NewNode{Mode: 0666, Umask: 027})
	require.NoError(t, err)
	require.Equal(t, uint32(0640), plain.Perm())
}
