package metaservice

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/policy"
)

func testPolicies(t *testing.T, f *fixture) {
	a := f.mkdir(alice, RootIno, "a", 0755)
	b := f.mkdir(alice, a.Ino, "b", 0755)
	file := f.create(alice, b.Ino, "file", 0644)
	other := f.mkdir(alice, RootIno, "other", 0755)

	p, err := f.s.ResolvePolicy(f.ctx, file.Ino)
	require.NoError(t, err)
	require.Equal(t, policy.Default(), p.Policy)
	require.Equal(t, Ino(0), p.From)

	src := []byte("write_ack: local_only\nreplication: async_lazy\ntarget_copies: 5\n")
	requireErrno(t, f.s.SetPolicy(f.ctx, bob, a.Ino, src), syscall.EPERM)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, a.Ino, src))
	p, err = f.s.ResolvePolicy(f.ctx, file.Ino)
	require.NoError(t, err)
	require.Equal(t, 5, p.Policy.TargetCopies)
	require.Equal(t, a.Ino, p.From)
	_, got, err := f.s.GetPolicy(f.ctx, a.Ino)
	require.NoError(t, err)
	require.Equal(t, src, got)

	// A bad policy is refused with its line, and the old one stays.
	err = f.s.SetPolicy(f.ctx, alice, a.Ino, []byte("write_ack: local_only\ntarget_copies: many\n"))
	requireErrno(t, err, syscall.EINVAL)
	require.Contains(t, err.Error(), ":2")
	p, err = f.s.ResolvePolicy(f.ctx, b.Ino)
	require.NoError(t, err)
	require.Equal(t, 5, p.Policy.TargetCopies)

	// Moving the subtree elsewhere changes the answer at once.
	require.NoError(t, f.s.Rename(f.ctx, alice, a.Ino, "b", other.Ino, "b", 0))
	p, err = f.s.ResolvePolicy(f.ctx, file.Ino)
	require.NoError(t, err)
	require.Equal(t, policy.Default(), p.Policy)
	require.NoError(t, f.s.SetPolicy(f.ctx, alice, other.Ino, []byte("target_copies: 2\n")))
	p, err = f.s.ResolvePolicy(f.ctx, file.Ino)
	require.NoError(t, err)
	require.Equal(t, 2, p.Policy.TargetCopies)
	require.NoError(t, f.s.RemovePolicy(f.ctx, alice, other.Ino))
	p, err = f.s.ResolvePolicy(f.ctx, file.Ino)
	require.NoError(t, err)
	require.Equal(t, Ino(0), p.From)
	_, _, err = f.s.GetPolicy(f.ctx, other.Ino)
	requireErrno(t, err, syscall.ENODATA)
}
