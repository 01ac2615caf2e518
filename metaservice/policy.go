package metaservice

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/replicaset"
)

// PolicyFileName is the name of the file that holds a directory's
// replication policy. Its content is stored in chunks like any file's;
// the FUSE client hands it to SetPolicy when it is written and closed,
// and removing or renaming it away removes the directory's policy in the
// same transaction (Unlink, Rename).
const PolicyFileName = policy.FileName

// isPolicyFile says whether a, named name, is a directory's policy file.
func isPolicyFile(name string, a *Attr) bool {
	return name == PolicyFileName && a.Type() == syscall.S_IFREG
}

// dropPolicy removes dir's own policy, as its policy file goes.
func (t *tx) dropPolicy(dir Ino) {
	t.mustDelete(policyKey(dir))
	t.onCommit(t.s.policies.invalidate)
	t.queueReview(dir)
}

// policyRecord is a directory's stored policy: the file as written (so it
// reads back byte for byte) and its parsed form.
type policyRecord struct {
	_msgpack struct{} `msgpack:",as_array"`

	Source []byte
	Policy policy.Policy
}

// EffectivePolicy is the policy in force for an inode and the directory it
// comes from (0 for the built-in default).
type EffectivePolicy struct {
	Policy policy.Policy
	From   Ino
}

// SetPolicy parses source as a replication policy and makes it dir's. A
// policy that does not parse or validate is refused with an error wrapping
// EINVAL that says what is wrong and on which line; the previous policy
// stays in force.
func (s *Service) SetPolicy(ctx context.Context, c *Cred, dir Ino, source []byte) error {
	p, err := policy.Parse(source)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		a, err := t.dir(dir)
		if err != nil {
			return err
		}
		if !isOwner(a, c) {
			return errnof(syscall.EPERM, "set policy of directory %d: uid %d is not the owner", dir, c.Uid)
		}
		old, err := t.policy(dir)
		if err != nil {
			return err
		}
		t.mustSet(policyKey(dir), encode(&policyRecord{Source: append([]byte(nil), source...), Policy: p}))
		t.onCommit(s.policies.invalidate)
		if old == nil || !old.Policy.Equal(p) {
			t.queueReview(dir)
		}
		t.onCommit(func() { s.warnShortfalls(ctx, dir, p) })
		return nil
	})
}

// warnShortfalls logs where the cluster cannot hold the copies p asks
// for (a policy is not refused for it: the cluster may grow).
func (s *Service) warnShortfalls(ctx context.Context, dir Ino, p policy.Policy) {
	list, err := s.dataserversNow(ctx)
	if err != nil || len(list) == 0 {
		return
	}
	for _, w := range replicaset.Shortfalls(p, Candidates(list)) {
		s.log.Warn("policy set, but the cluster cannot hold it yet", "dir", dir, "policy", p.String(), "shortfall", w)
	}
	for _, w := range p.Unapplied() {
		s.log.Warn("policy set, with a part that is not applied", "dir", dir, "note", w)
	}
}

// RemovePolicy removes dir's own policy; it inherits again.
func (s *Service) RemovePolicy(ctx context.Context, c *Cred, dir Ino) error {
	return s.update(ctx, func(t *tx) error {
		a, err := t.dir(dir)
		if err != nil {
			return err
		}
		if !isOwner(a, c) {
			return errnof(syscall.EPERM, "remove policy of directory %d: uid %d is not the owner", dir, c.Uid)
		}
		t.dropPolicy(dir)
		return nil
	})
}

// GetPolicy returns dir's own policy and its source, or ENODATA if it has
// none of its own.
func (s *Service) GetPolicy(ctx context.Context, dir Ino) (*policy.Policy, []byte, error) {
	var rec *policyRecord
	err := s.view(ctx, func(t *tx) error {
		var err error
		rec, err = t.policy(dir)
		if err == nil && rec == nil {
			err = errnof(syscall.ENODATA, "directory %d has no policy of its own", dir)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return &rec.Policy, rec.Source, nil
}

func (t *tx) policy(dir Ino) (*policyRecord, error) {
	k := policyKey(dir)
	v, err := t.Get(k)
	if err != nil || v == nil {
		return nil, err
	}
	r := new(policyRecord)
	return r, decode(k, v, r)
}

// ResolvePolicy returns the policy in force for ino: that of the nearest
// directory at or above it with one, or the built-in default. Resolutions
// are cached per directory.
func (s *Service) ResolvePolicy(ctx context.Context, ino Ino) (EffectivePolicy, error) {
	dir := ino
	if ino != RootIno {
		a, err := s.GetAttr(ctx, ino)
		if err != nil {
			return EffectivePolicy{}, err
		}
		if !a.IsDir() {
			dir = a.Parent
		}
	}
	if p, ok := s.policies.get(dir); ok {
		return p, nil
	}
	gen := s.policies.generation()
	var out EffectivePolicy
	err := s.view(ctx, func(t *tx) error {
		for d := dir; ; {
			rec, err := t.policy(d)
			if err != nil {
				return err
			}
			if rec != nil {
				out = EffectivePolicy{Policy: rec.Policy, From: d}
				return nil
			}
			if d == RootIno {
				out = EffectivePolicy{Policy: policy.Default()}
				return nil
			}
			a, err := t.attr(d)
			if err != nil {
				return err
			}
			d = a.Parent
		}
	})
	if err == nil {
		s.policies.put(dir, out, gen)
	}
	return out, err
}

// policyCache maps directories to their resolved policy. Any policy change
// or directory move in this process clears it (a move changes the
// ancestors of a whole subtree); entries also expire after ttl because
// another metaservice process may have made such a change.
type policyCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	gen     uint64
	entries map[Ino]policyEntry
}

type policyEntry struct {
	p  EffectivePolicy
	at time.Time
}

func newPolicyCache(ttl time.Duration, now func() time.Time) *policyCache {
	return &policyCache{ttl: ttl, now: now, entries: make(map[Ino]policyEntry)}
}

func (c *policyCache) get(dir Ino) (EffectivePolicy, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[dir]
	if !ok || c.now().Sub(e.at) > c.ttl {
		return EffectivePolicy{}, false
	}
	return e.p, true
}

func (c *policyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches a resolution made when the cache was at generation gen; it is
// dropped if an invalidation happened since, as it may predate it.
func (c *policyCache) put(dir Ino, p EffectivePolicy, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.entries[dir] = policyEntry{p: p, at: c.now()}
	}
}

func (c *policyCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}
