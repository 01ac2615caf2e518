package rpc

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// requireErrno checks that err came back over the wire as errno.
func requireErrno(t *testing.T, err error, errno syscall.Errno) {
	t.Helper()
	require.Error(t, err)
	var re *msgrpc.Error
	require.True(t, errors.As(err, &re), "error %v (%T) is not a *msgrpc.Error", err, err)
	require.ErrorIs(t, err, errno, "got %v", err)
}

// TestNamespaceRoundTrip drives the namespace through the client and
// checks every answer against the core's own view of the same state.
func TestNamespaceRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c, svc := callCtx(t), e.client, e.svc

		dir, err := c.Mkdir(ctx, root, ms.RootIno, "d", ms.NewNode{Mode: 0777})
		require.NoError(t, err)
		require.True(t, dir.IsDir())
		f, err := c.Create(ctx, alice, dir.Ino, "f", ms.NewNode{Mode: 0640, Umask: 022, Exclusive: true}, 0)
		require.NoError(t, err)
		require.EqualValues(t, alice.Uid, f.Uid)
		require.EqualValues(t, 0640, f.Perm())

		got, err := c.Lookup(ctx, alice, dir.Ino, "f")
		require.NoError(t, err)
		core, err := svc.GetAttr(ctx, f.Ino)
		require.NoError(t, err)
		require.Equal(t, core, got, "attributes changed on the wire")
		got, err = c.GetAttr(ctx, f.Ino)
		require.NoError(t, err)
		require.Equal(t, core, got)

		sym, err := c.Symlink(ctx, alice, dir.Ino, "s", "f")
		require.NoError(t, err)
		target, err := c.ReadLink(ctx, sym.Ino)
		require.NoError(t, err)
		require.Equal(t, "f", target)
		linked, err := c.Link(ctx, alice, f.Ino, dir.Ino, "hard")
		require.NoError(t, err)
		require.EqualValues(t, 2, linked.Nlink)
		fifo, err := c.Mknod(ctx, alice, dir.Ino, "p", ms.NewNode{Mode: syscall.S_IFIFO | 0600})
		require.NoError(t, err)
		require.EqualValues(t, syscall.S_IFIFO, fifo.Type())

		for _, plus := range []bool{false, true} {
			wire, err := c.ReadDir(ctx, alice, dir.Ino, 0, 0, plus)
			require.NoError(t, err)
			want, err := svc.ReadDir(ctx, alice, dir.Ino, 0, 0, plus)
			require.NoError(t, err)
			require.Equal(t, want, wire, "plus=%v", plus)
			require.Len(t, wire, 6) // . .. f s hard p
		}
		// Paging by cookie lists every entry exactly once.
		var names []string
		for cookie := uint64(0); ; {
			page, err := c.ReadDir(ctx, alice, dir.Ino, cookie, 2, false)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			for _, en := range page {
				names = append(names, en.Name)
			}
			cookie = page[len(page)-1].Cookie
		}
		require.ElementsMatch(t, []string{".", "..", "f", "s", "hard", "p"}, names)

		other, err := c.Mkdir(ctx, root, ms.RootIno, "other", ms.NewNode{Mode: 0777})
		require.NoError(t, err)
		requireErrno(t, c.Rename(ctx, alice, dir.Ino, "f", ms.RootIno, "moved", 0), syscall.EACCES)
		require.NoError(t, c.Rename(ctx, alice, dir.Ino, "f", other.Ino, "moved", 0))
		_, err = c.Lookup(ctx, alice, dir.Ino, "f")
		requireErrno(t, err, syscall.ENOENT)
		got, err = c.Lookup(ctx, alice, other.Ino, "moved")
		require.NoError(t, err)
		require.Equal(t, f.Ino, got.Ino)
		requireErrno(t, c.Rename(ctx, alice, dir.Ino, "p", other.Ino, "moved", ms.RenameNoReplace), syscall.EEXIST)
		require.NoError(t, c.Rename(ctx, alice, dir.Ino, "s", dir.Ino, "p", ms.RenameExchange))

		set, err := c.SetAttr(ctx, alice, f.Ino, ms.SetAttrIn{Valid: ms.SetMode | ms.SetMtime, Mode: 0600, Mtime: 12345})
		require.NoError(t, err)
		require.EqualValues(t, 0600, set.Perm())
		require.EqualValues(t, 12345, set.Mtime)
		_, err = c.SetAttr(ctx, alice, ms.RootIno, ms.SetAttrIn{Valid: ms.SetMode, Mode: 0700})
		requireErrno(t, err, syscall.EPERM)

		require.NoError(t, c.Access(ctx, alice, f.Ino, ms.MayRead|ms.MayWrite))
		requireErrno(t, c.Access(ctx, alice, f.Ino, ms.MayExec), syscall.EACCES)

		require.NoError(t, c.Unlink(ctx, alice, other.Ino, "moved"))
		require.NoError(t, c.Unlink(ctx, alice, dir.Ino, "hard"))
		_, err = c.GetAttr(ctx, f.Ino)
		requireErrno(t, err, syscall.ENOENT)

		st, err := c.StatFS(ctx)
		require.NoError(t, err)
		want, err := svc.StatFS(ctx)
		require.NoError(t, err)
		require.Equal(t, want, st)
		require.NoError(t, c.Sync(ctx))
	})
}

func TestXattrRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c := callCtx(t), e.client
		f, err := c.Create(ctx, alice, ms.RootIno, "x", ms.NewNode{Mode: 0644}, 0)
		requireErrno(t, err, syscall.EACCES) // the root directory is 0755 root's
		f, err = c.Create(ctx, root, ms.RootIno, "x", ms.NewNode{Mode: 0666}, 0)
		require.NoError(t, err)

		value := []byte("v\x00\xff binary")
		require.NoError(t, c.SetXattr(ctx, alice, f.Ino, "user.a", value, 0))
		require.NoError(t, c.SetXattr(ctx, alice, f.Ino, "user.empty", []byte{}, ms.XattrCreate))
		requireErrno(t, c.SetXattr(ctx, alice, f.Ino, "user.a", value, ms.XattrCreate), syscall.EEXIST)
		requireErrno(t, c.SetXattr(ctx, alice, f.Ino, "user.nope", value, ms.XattrReplace), syscall.ENODATA)
		requireErrno(t, c.SetXattr(ctx, alice, f.Ino, "trusted.a", value, 0), syscall.EPERM)
		requireErrno(t, c.SetXattr(ctx, alice, f.Ino, "user.big", make([]byte, ms.MaxXattrValue+1), 0), syscall.E2BIG)

		got, err := c.GetXattr(ctx, alice, f.Ino, "user.a")
		require.NoError(t, err)
		require.Equal(t, value, got)
		got, err = c.GetXattr(ctx, alice, f.Ino, "user.empty")
		require.NoError(t, err)
		require.Empty(t, got)
		names, err := c.ListXattr(ctx, alice, f.Ino)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"user.a", "user.empty"}, names)

		require.NoError(t, c.RemoveXattr(ctx, alice, f.Ino, "user.a"))
		_, err = c.GetXattr(ctx, alice, f.Ino, "user.a")
		requireErrno(t, err, syscall.ENODATA)
		requireErrno(t, c.RemoveXattr(ctx, alice, f.Ino, "user.a"), syscall.ENODATA)
	})
}

// TestErrnoPropagation checks that the core's errnos reach the caller
// intact, and that the server's own validation answers with errnos too.
func TestErrnoPropagation(t *testing.T) {
	e := startEnv(t, "memory:", "unix")
	ctx, c := callCtx(t), e.client
	d, err := c.Mkdir(ctx, root, ms.RootIno, "full", ms.NewNode{Mode: 0755})
	require.NoError(t, err)
	f, err := c.Mknod(ctx, root, d.Ino, "f", ms.NewNode{Mode: 0644})
	require.NoError(t, err)
	long := strings.Repeat("n", ms.MaxNameLen+1)

	cases := []struct {
		name  string
		errno syscall.Errno
		call  func() error
	}{
		{"lookup missing", syscall.ENOENT, func() error { _, err := c.Lookup(ctx, root, ms.RootIno, "nope"); return err }},
		{"getattr missing", syscall.ENOENT, func() error { _, err := c.GetAttr(ctx, 1<<40); return err }},
		{"mkdir existing", syscall.EEXIST, func() error { _, err := c.Mkdir(ctx, root, ms.RootIno, "full", ms.NewNode{}); return err }},
		{"exclusive create existing", syscall.EEXIST, func() error {
			_, err := c.Create(ctx, root, d.Ino, "f", ms.NewNode{Exclusive: true}, 0)
			return err
		}},
		{"rmdir non-empty", syscall.ENOTEMPTY, func() error { return c.Rmdir(ctx, root, ms.RootIno, "full") }},
		{"rmdir file", syscall.ENOTDIR, func() error { return c.Rmdir(ctx, root, d.Ino, "f") }},
		{"unlink dir", syscall.EISDIR, func() error { return c.Unlink(ctx, root, ms.RootIno, "full") }},
		{"lookup long name", syscall.ENAMETOOLONG, func() error { _, err := c.Lookup(ctx, root, ms.RootIno, long); return err }},
		{"create long name", syscall.ENAMETOOLONG, func() error {
			_, err := c.Create(ctx, root, ms.RootIno, long, ms.NewNode{}, 0)
			return err
		}},
		{"lookup in file", syscall.ENOTDIR, func() error { _, err := c.Lookup(ctx, root, f.Ino, "x"); return err }},
		{"readlink of file", syscall.EINVAL, func() error { _, err := c.ReadLink(ctx, f.Ino); return err }},
		{"bad rename flags", syscall.EINVAL, func() error { return c.Rename(ctx, root, ms.RootIno, "full", ms.RootIno, "x", 1<<9) }},
		{"nil credential", syscall.EINVAL, func() error { _, err := c.Lookup(ctx, nil, ms.RootIno, "full"); return err }},
		// Refused by the server before the core sees them.
		{"too many groups", syscall.EINVAL, func() error {
			_, err := c.Lookup(ctx, &ms.Cred{Groups: make([]uint32, MaxGroups+1)}, ms.RootIno, "full")
			return err
		}},
		{"setattr unknown bits", syscall.EINVAL, func() error {
			_, err := c.SetAttr(ctx, root, f.Ino, ms.SetAttrIn{Valid: 1 << 30})
			return err
		}},
		{"truncate past max size", syscall.EFBIG, func() error {
			_, err := c.SetAttr(ctx, root, f.Ino, ms.SetAttrIn{Valid: ms.SetSize, Size: MaxFileSize + 1})
			return err
		}},
		{"access bad mask", syscall.EINVAL, func() error { return c.Access(ctx, root, f.Ino, 8) }},
		{"lock bad type", syscall.EINVAL, func() error { return c.SetLk(ctx, f.Ino, ms.PosixLock{Type: 7, End: 1}, false) }},
		{"lock bad range", syscall.EINVAL, func() error { return c.SetLk(ctx, f.Ino, ms.PosixLock{Start: 2, End: 1}, false) }},
		{"flock bad type", syscall.EINVAL, func() error { return c.Flock(ctx, f.Ino, ms.LockOwner{}, 9, false) }},
		{"negative lease", syscall.EINVAL, func() error { _, err := c.AllocChunk(ctx, f.Ino, 0, "ds1", -1); return err }},
		{"empty dataserver", syscall.EINVAL, func() error { _, err := c.AcquireLease(ctx, f.Ino, 0, "", 0); return err }},
		{"reversed chunk range", syscall.EINVAL, func() error { _, err := c.Chunks(ctx, f.Ino, 5, 1); return err }},
		{"commit too many chunks", syscall.E2BIG, func() error {
			_, err := c.CommitWrite(ctx, f.Ino, 0, 0, make([]ms.ChunkVersion, MaxCommitChunks+1))
			return err
		}},
		{"placement voters", syscall.EINVAL, func() error { _, err := c.PlacementRules(ctx, "g", "zone", 0); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { requireErrno(t, tc.call(), tc.errno) })
	}
}
