package rpc

import (
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/lis-fs/lis/metaservice/policy"
)

func TestPolicyRoundTrip(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx, c, svc := callCtx(t), e.client, e.svc
		d, err := c.Mkdir(ctx, root, ms.RootIno, "geo", ms.NewNode{Mode: 0755})
		require.NoError(t, err)
		f, err := c.Mknod(ctx, root, d.Ino, "f", ms.NewNode{Mode: 0644})
		require.NoError(t, err)
		src := []byte("write_ack: local_only\nreplication: async_lazy\ntarget_copies: 3\n" +
			"bandwidth:\n  limit: 100mbps\n  priority_hours: \"22:00-06:00\"\n")

		requireErrno(t, c.SetPolicy(ctx, alice, d.Ino, src), syscall.EPERM)
		require.NoError(t, c.SetPolicy(ctx, root, d.Ino, src))
		p, gotSrc, err := c.GetPolicy(ctx, d.Ino)
		require.NoError(t, err)
		wantP, wantSrc, err := svc.GetPolicy(ctx, d.Ino)
		require.NoError(t, err)
		require.Equal(t, wantP, p)
		require.Equal(t, wantSrc, gotSrc)
		require.Equal(t, src, gotSrc)
		require.NotNil(t, p.Bandwidth.PriorityHours)

		eff, err := c.ResolvePolicy(ctx, f.Ino)
		require.NoError(t, err)
		require.Equal(t, d.Ino, eff.From)
		require.True(t, eff.Policy.Equal(*p))

		// A bad file is refused with the parser's words; the old policy
		// stays.
		err = c.SetPolicy(ctx, root, d.Ino, []byte("write_ack: local_only\ntarget_copies: zero\n"))
		requireErrno(t, err, syscall.EINVAL)
		var re *msgrpc.Error
		require.True(t, errors.As(err, &re))
		require.Contains(t, re.Msg, ".lis-policy.yaml:2: target_copies")
		requireErrno(t, c.SetPolicy(ctx, root, d.Ino, make([]byte, MaxPolicySource+1)), syscall.E2BIG)
		_, gotSrc, err = c.GetPolicy(ctx, d.Ino)
		require.NoError(t, err)
		require.Equal(t, src, gotSrc)

		require.NoError(t, c.RemovePolicy(ctx, root, d.Ino))
		_, _, err = c.GetPolicy(ctx, d.Ino)
		requireErrno(t, err, syscall.ENODATA)
		eff, err = c.ResolvePolicy(ctx, f.Ino)
		require.NoError(t, err)
		require.Zero(t, eff.From)
		require.True(t, eff.Policy.Equal(policy.Default()))
	})
}
