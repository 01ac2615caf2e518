package fs

import (
	"context"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// Meta is what the client needs of the metaservice: its namespace,
// session and chunk calls. Both the in-process *metaservice.Service
// (embedded mount) and the RPC client satisfy it.
type Meta interface {
	rpc.Namespace
	rpc.Sessions
	rpc.Chunks
	rpc.Policies
	rpc.Registry
}

// Data is what the client needs of its co-located dataserver: chunk
// reads and writes at local latency.
type Data interface {
	// ID names the dataserver, as the metaservice's chunk records do.
	ID() string
	// Write stores data at off of chunk and returns the chunk's new
	// version and how many of its blocks hold data. With sync the write
	// is durable before it returns.
	Write(ctx context.Context, chunk uint64, off int64, data []byte, sync bool) (uint64, uint32, error)
	// Read fills dst from off of chunk, and returns the version of the
	// chunk it read; holes and bytes past the chunk's end read as zeros.
	Read(ctx context.Context, chunk uint64, off int64, dst []byte) (uint64, error)
	// Truncate sets a chunk's size and returns its new version and how
	// many of its blocks hold data.
	Truncate(ctx context.Context, chunk uint64, size int64) (uint64, uint32, error)
	// Sync makes every acknowledged write of chunk durable (all chunks
	// with chunk 0).
	Sync(ctx context.Context, chunk uint64) error
	// Acked returns, per replica the dataserver ships chunk to, the
	// version that replica holds durably.
	Acked(ctx context.Context, chunk uint64) (map[string]uint64, error)
	// AwaitAcked is Acked once it differs from seen, or after wait.
	AwaitAcked(ctx context.Context, chunk uint64, seen map[string]uint64, wait time.Duration) (map[string]uint64, error)
	// ShipNow makes a lazily replicated chunk go to its replicas at once.
	ShipNow(ctx context.Context, chunk uint64) error
}

// The embedded mount drives the metaservice core in process.
var _ Meta = (*ms.Service)(nil)
