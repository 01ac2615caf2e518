package fs

import (
	"context"
	"time"

	"github.com/lis-fs/lis/dataserver"
)

// chunkCalls are the dataserver calls the client makes; both the RPC
// client (*dataserver.Client) and the in-process one (*dataserver.Local)
// have them.
type chunkCalls interface {
	Write(ctx context.Context, req dataserver.WriteReq) (*dataserver.WriteResp, error)
	Read(ctx context.Context, chunk uint64, off, n int64) (*dataserver.ReadResp, error)
	Sync(ctx context.Context, chunk uint64) (uint64, error)
	SyncAll(ctx context.Context) error
	Truncate(ctx context.Context, req dataserver.TruncateReq) (*dataserver.WriteResp, error)
	ChunkInfo(ctx context.Context, chunk uint64) (*dataserver.ChunkInfo, error)
	ShipNow(ctx context.Context, chunk uint64) error
	AwaitAcked(ctx context.Context, chunk uint64, seen map[string]uint64, wait time.Duration) (map[string]uint64, error)
}

var (
	_ chunkCalls = (*dataserver.Client)(nil)
	_ chunkCalls = (*dataserver.Local)(nil)
)

// DataClient is Data over a dataserver: its RPC client (the co-located
// dataserver's unix socket, or a TCP address), or, for the embedded
// volume, the in-process one.
type DataClient struct {
	c  chunkCalls
	id string
}

// NewDataClient wraps c, whose dataserver is named id.
func NewDataClient(c chunkCalls, id string) *DataClient { return &DataClient{c: c, id: id} }

// ID implements Data.
func (d *DataClient) ID() string { return d.id }

// Write implements Data. Writes through a lease need no expected version:
// the lease makes this client's dataserver the chunk's only writer, and
// the returned version orders the chunk's mutations for its replicas.
func (d *DataClient) Write(ctx context.Context, chunk uint64, off int64, data []byte, sync bool) (uint64, uint32, error) {
	r, err := d.c.Write(ctx, dataserver.WriteReq{Chunk: chunk, AnyVersion: true, Offset: off, Data: data, Sync: sync})
	if err != nil {
		return 0, 0, err
	}
	return r.Version, r.Blocks, nil
}

// directReader is implemented by the in-process client, which reads into
// the caller's buffer.
type directReader interface {
	ReadInto(ctx context.Context, chunk uint64, off int64, dst []byte) (uint64, error)
}

// Read implements Data.
func (d *DataClient) Read(ctx context.Context, chunk uint64, off int64, dst []byte) (uint64, error) {
	if dr, ok := d.c.(directReader); ok {
		return dr.ReadInto(ctx, chunk, off, dst)
	}
	return readFrom(ctx, d.c, chunk, off, dst)
}

// chunkReader is the read call of a dataserver client.
type chunkReader interface {
	Read(ctx context.Context, chunk uint64, off, n int64) (*dataserver.ReadResp, error)
}

// readFrom fills dst from off of chunk through c and returns the version
// read.
func readFrom(ctx context.Context, c chunkReader, chunk uint64, off int64, dst []byte) (uint64, error) {
	r, err := c.Read(ctx, chunk, off, int64(len(dst)))
	if err != nil {
		return 0, err
	}
	n := copy(dst, r.Data)
	clear(dst[n:])
	return r.Version, nil
}

// Truncate implements Data.
func (d *DataClient) Truncate(ctx context.Context, chunk uint64, size int64) (uint64, uint32, error) {
	r, err := d.c.Truncate(ctx, dataserver.TruncateReq{Chunk: chunk, AnyVersion: true, Size: size})
	if err != nil {
		return 0, 0, err
	}
	return r.Version, r.Blocks, nil
}

// Acked implements Data.
func (d *DataClient) Acked(ctx context.Context, chunk uint64) (map[string]uint64, error) {
	ci, err := d.c.ChunkInfo(ctx, chunk)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ci.Replicas))
	for _, r := range ci.Replicas {
		out[r.Peer.ID] = r.AckedVersion
	}
	return out, nil
}

// AwaitAcked implements Data.
func (d *DataClient) AwaitAcked(ctx context.Context, chunk uint64, seen map[string]uint64, wait time.Duration) (map[string]uint64, error) {
	return d.c.AwaitAcked(ctx, chunk, seen, wait)
}

// ShipNow implements Data.
func (d *DataClient) ShipNow(ctx context.Context, chunk uint64) error { return d.c.ShipNow(ctx, chunk) }

// Sync implements Data.
func (d *DataClient) Sync(ctx context.Context, chunk uint64) error {
	if chunk == 0 {
		return d.c.SyncAll(ctx)
	}
	_, err := d.c.Sync(ctx, chunk)
	return err
}
