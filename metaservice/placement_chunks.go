package metaservice

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/replicaset"
)

// registryTTL is how long placement trusts its copy of the registry: a
// chunk allocation should not scan it, and a second of staleness only
// delays when a new or lost dataserver counts.
const registryTTL = time.Second

// registryView is the registry as placement last read it.
type registryView struct {
	mu   sync.Mutex // guards the fields below; not held across the read
	at   int64
	list []DataserverStatus
}

// dataserversNow returns the registry, read at most once per registryTTL.
func (s *Service) dataserversNow(ctx context.Context) ([]DataserverStatus, error) {
	v := &s.registryView
	v.mu.Lock()
	list, fresh := v.list, s.now()-v.at < int64(registryTTL)
	v.mu.Unlock()
	if fresh && list != nil {
		return list, nil
	}
	list, err := s.listDataservers(ctx)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.list, v.at = list, s.now()
	v.mu.Unlock()
	return list, nil
}

// placeChunk chooses the copies of a new chunk of ino written through
// primary, and how they are shipped to, from the file's policy and the
// registry (package replicaset).
func (s *Service) placeChunk(ctx context.Context, ino Ino, primary string) ([]Replica, dataserver.ReplMode, error) {
	list, err := s.dataserversNow(ctx)
	if err != nil {
		return nil, 0, err
	}
	if len(list) < 2 {
		return []Replica{{Dataserver: primary}}, 0, nil // whatever the policy: no other copy to have
	}
	ep, err := s.ResolvePolicy(ctx, ino)
	if err != nil {
		return nil, 0, fmt.Errorf("policy of inode %d: %w", ino, err)
	}
	return place(ep.Policy, primary, list, nil), replMode(ep.Policy.Replication), nil
}

// place chooses the copies of a chunk under p with primary as its first.
func place(p policy.Policy, primary string, list []DataserverStatus, holding []string) []Replica {
	var out []Replica
	for _, id := range replicaset.Choose(p, primary, Candidates(list), holding) {
		out = append(out, Replica{Dataserver: id})
	}
	return out
}

// Candidates is the registry as placement sees it: only up dataservers
// take copies.
func Candidates(list []DataserverStatus) []replicaset.Dataserver {
	out := make([]replicaset.Dataserver, len(list))
	for i, d := range list {
		out[i] = replicaset.Dataserver{ID: d.ID, Site: d.Site, Region: d.Region, Free: d.Free, Up: d.Liveness == registry.Up, Faulty: d.Fault != ""}
	}
	return out
}

// replMode is the dataservers' part of a policy's replication.
func replMode(r policy.Replication) dataserver.ReplMode {
	switch r {
	case policy.AsyncLazy:
		return dataserver.ReplLazy
	case policy.Sync:
		return dataserver.ReplSync
	}
	return dataserver.ReplPriority
}

// shipTo tells c's primary, the record of chunk index of ino, to ship the
// chunk to every other copy in its record, in its mode.
func (s *Service) shipTo(ctx context.Context, ino Ino, index uint32, c *ChunkRecord) error {
	var peers []dataserver.Peer
	for _, r := range c.Replicas {
		if r.Dataserver == c.Primary {
			continue
		}
		addr, err := s.dataserverAddr(ctx, r.Dataserver)
		if err != nil {
			return err
		}
		peers = append(peers, dataserver.Peer{ID: r.Dataserver, Addr: addr})
	}
	addr, err := s.dataserverAddr(ctx, c.Primary)
	if err != nil {
		return err
	}
	req := dataserver.SetReplicasReq{Chunk: uint64(c.ID), Replicas: peers, Mode: c.Mode,
		Owner: dataserver.ChunkOwner{Ino: uint64(ino), Index: index}}
	req.Target = s.targetCopies(ctx, ino, c)

	if err := s.dataservers.SetReplicas(ctx, addr, req); err != nil {
		return fmt.Errorf("give %s the replicas of chunk %s: %w", c.Primary, c.ID, err)
	}
	return nil
}

// targetCopies is how many copies the policy of ino asks its chunk c to
// have, for the primary's danger report; 0 if the policy cannot be read.
// A per-region target counts the regions it names, or else the regions
// the placement found.
func (s *Service) targetCopies(ctx context.Context, ino Ino, c *ChunkRecord) int {
	ep, err := s.ResolvePolicy(ctx, ino)
	switch {
	case err != nil:
		return 0
	case !ep.Policy.PerRegion:
		return ep.Policy.TargetCopies
	case len(ep.Policy.Regions) > 0:
		return ep.Policy.TargetCopies * len(ep.Policy.Regions)
	}
	return len(c.Replicas)
}
