package dspool

import (
	"context"
	"fmt"
	"sync"
	"syscall"

	"github.com/lis-fs/lis/dataserver"
)

// Fake stands in for a pool in tests of the metaservice: dataservers
// that keep chunk versions, leases and replica lists in memory, where a
// replica list ships at once (every replica at once holds its primary's
// version), and that a test may take away (Down) or write to (Wrote).
type Fake struct {
	mu          sync.Mutex
	chunks      map[string]map[uint64]*fakeChunk // by address, then chunk
	down        map[string]bool
	quarantined map[string][]uint64 // by address: the chunks taken out of service there
}

type fakeChunk struct {
	version  uint64
	epoch    uint64
	lease    *dataserver.Lease
	replicas []dataserver.Peer
	mode     dataserver.ReplMode
}

// NewFake returns fake dataservers holding nothing.
func NewFake() *Fake {
	return &Fake{chunks: map[string]map[uint64]*fakeChunk{}, down: map[string]bool{}, quarantined: map[string][]uint64{}}
}

// Down makes the dataserver at addr unreachable, or reachable again.
func (f *Fake) Down(addr string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[addr] = down
}

// Wrote sets the version of chunk on the dataserver at addr, as writes
// would, and ships it to its replicas.
func (f *Fake) Wrote(addr string, chunk, version uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.chunk(addr, chunk)
	c.version = version
	f.ship(c, chunk)
}

// Lease returns the lease chunk has on the dataserver at addr, if any.
func (f *Fake) Lease(addr string, chunk uint64) *dataserver.Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chunk(addr, chunk).lease
}

// Replicas returns the replica list of chunk on the dataserver at addr.
func (f *Fake) Replicas(addr string, chunk uint64) []dataserver.Peer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chunk(addr, chunk).replicas
}

func (f *Fake) chunk(addr string, id uint64) *fakeChunk {
	m := f.chunks[addr]
	if m == nil {
		m = map[uint64]*fakeChunk{}
		f.chunks[addr] = m
	}
	if m[id] == nil {
		m[id] = &fakeChunk{}
	}
	return m[id]
}

// ship brings every replica of c (chunk id) to c's version; f.mu held.
func (f *Fake) ship(c *fakeChunk, id uint64) {
	for _, p := range c.replicas {
		if r := f.chunk(p.Addr, id); !f.down[p.Addr] && r.version < c.version {
			r.version = c.version
		}
	}
}

func (f *Fake) reach(addr string) error {
	if f.down[addr] {
		return fmt.Errorf("dataserver at %s: %w", addr, syscall.ECONNREFUSED)
	}
	return nil
}

// GrantLease implements the metaservice's Dataservers.
func (f *Fake) GrantLease(_ context.Context, addr string, l dataserver.Lease) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return err
	}
	c := f.chunk(addr, l.Chunk)
	if l.Epoch < c.epoch {
		return fmt.Errorf("lease epoch %d older than %d: %w", l.Epoch, c.epoch, syscall.ESTALE)
	}
	c.epoch, c.lease = l.Epoch, &l
	return nil
}

// RevokeLease implements the metaservice's Dataservers.
func (f *Fake) RevokeLease(_ context.Context, addr string, chunk, epoch uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return err
	}
	c := f.chunk(addr, chunk)
	if c.lease != nil && c.lease.Epoch <= epoch {
		c.lease = nil
	}
	c.epoch = max(c.epoch, epoch)
	return nil
}

// SetReplicas implements the metaservice's Dataservers.
func (f *Fake) SetReplicas(_ context.Context, addr string, req dataserver.SetReplicasReq) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return err
	}
	c := f.chunk(addr, req.Chunk)
	c.replicas = append([]dataserver.Peer(nil), req.Replicas...)
	c.mode = req.Mode
	f.ship(c, req.Chunk)
	return nil
}

// Delete implements the metaservice's Dataservers.
func (f *Fake) Delete(_ context.Context, addr string, chunk uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return err
	}
	delete(f.chunks[addr], chunk)
	return nil
}

// Quarantine implements the metaservice's Dataservers: the copy leaves
// the chunks held, for the list of those quarantined.
func (f *Fake) Quarantine(_ context.Context, addr string, chunk uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return err
	}
	if c := f.chunks[addr][chunk]; c != nil && c.version > 0 {
		f.quarantined[addr] = append(f.quarantined[addr], chunk)
	}
	delete(f.chunks[addr], chunk)
	return nil
}

// Quarantined lists the chunks quarantined on the dataserver at addr.
func (f *Fake) Quarantined(addr string) []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.quarantined[addr]...)
}

// Holds says whether the dataserver at addr has chunk.
func (f *Fake) Holds(addr string, chunk uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.chunks[addr][chunk]
	return c != nil && c.version > 0
}

// ChunkInfo implements the metaservice's Dataservers.
func (f *Fake) ChunkInfo(_ context.Context, addr string, chunk uint64) (*dataserver.ChunkInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reach(addr); err != nil {
		return nil, err
	}
	c := f.chunk(addr, chunk)
	if c.version == 0 && c.epoch == 0 {
		return nil, fmt.Errorf("chunk %x: %w", chunk, syscall.ENOENT)
	}
	info := &dataserver.ChunkInfo{Chunk: chunk, Version: c.version, DurableVersion: c.version, Epoch: c.epoch, Lease: c.lease, Mode: c.mode}
	for _, p := range c.replicas {
		info.Replicas = append(info.Replicas, dataserver.ReplicaInfo{Peer: p, AckedVersion: f.chunk(p.Addr, chunk).version})
	}
	return info, nil
}
