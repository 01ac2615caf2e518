package rpc

import (
	"context"
	"fmt"
	"syscall"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/policy"
)

// MaxPolicySource bounds the size of a policy file.
const MaxPolicySource = 64 << 10

// Policies is the replication policies of directories.
type Policies interface {
	SetPolicy(ctx context.Context, c *ms.Cred, dir ms.Ino, source []byte) error
	RemovePolicy(ctx context.Context, c *ms.Cred, dir ms.Ino) error
	GetPolicy(ctx context.Context, dir ms.Ino) (*policy.Policy, []byte, error)
	ResolvePolicy(ctx context.Context, ino ms.Ino) (ms.EffectivePolicy, error)
}

func (r *setPolicyReq) check() error {
	if len(r.Source) > MaxPolicySource {
		return fmt.Errorf("policy file of %d bytes (limit %d): %w", len(r.Source), MaxPolicySource, syscall.E2BIG)
	}
	return r.Cred.check()
}

func (s *Server) policyMethods() []grpc.MethodDesc {
	m := s.meta
	return []grpc.MethodDesc{
		method(s, "SetPolicy", func(ctx context.Context, r *setPolicyReq) (*empty, error) {
			return &empty{}, m.SetPolicy(ctx, r.Cred.cred(), r.Dir, r.Source)
		}),
		method(s, "RemovePolicy", func(ctx context.Context, r *setPolicyReq) (*empty, error) {
			return &empty{}, m.RemovePolicy(ctx, r.Cred.cred(), r.Dir)
		}),
		method(s, "GetPolicy", func(ctx context.Context, r *inoReq) (*getPolicyResp, error) {
			p, src, err := m.GetPolicy(ctx, r.Ino)
			if err != nil {
				return nil, err
			}
			return &getPolicyResp{Policy: p.Encode(), Source: src}, nil
		}),
		method(s, "ResolvePolicy", func(ctx context.Context, r *inoReq) (*resolvePolicyResp, error) {
			ep, err := m.ResolvePolicy(ctx, r.Ino)
			if err != nil {
				return nil, err
			}
			return &resolvePolicyResp{Policy: ep.Policy.Encode(), From: ep.From}, nil
		}),
	}
}

// SetPolicy sends at most MaxPolicySource bytes of policy file (E2BIG).
// A file that does not parse or validate fails with EINVAL and the
// parser's message (line and key).
func (c *Client) SetPolicy(ctx context.Context, cr *ms.Cred, dir ms.Ino, source []byte) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "SetPolicy", &setPolicyReq{Cred: wc, Dir: dir, Source: source})
}

func (c *Client) RemovePolicy(ctx context.Context, cr *ms.Cred, dir ms.Ino) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "RemovePolicy", &setPolicyReq{Cred: wc, Dir: dir})
}

func (c *Client) GetPolicy(ctx context.Context, dir ms.Ino) (*policy.Policy, []byte, error) {
	r, err := call[inoReq, getPolicyResp](ctx, c, "GetPolicy", &inoReq{Ino: dir})
	if err != nil {
		return nil, nil, err
	}
	p, err := policy.Decode(r.Policy)
	if err != nil {
		return nil, nil, fmt.Errorf("policy of directory %d from the metaservice: %w", dir, err)
	}
	return &p, r.Source, nil
}

func (c *Client) ResolvePolicy(ctx context.Context, ino ms.Ino) (ms.EffectivePolicy, error) {
	r, err := call[inoReq, resolvePolicyResp](ctx, c, "ResolvePolicy", &inoReq{Ino: ino})
	if err != nil {
		return ms.EffectivePolicy{}, err
	}
	p, err := policy.Decode(r.Policy)
	if err != nil {
		return ms.EffectivePolicy{}, fmt.Errorf("policy of inode %d from the metaservice: %w", ino, err)
	}
	return ms.EffectivePolicy{Policy: p, From: r.From}, nil
}
