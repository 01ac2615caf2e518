package dataserver

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/metaservice/msgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Client calls a dataserver. Errors that mean an errno (ENOENT, ESTALE for
// a stale version, EPERM without a lease, ENOSPC, EIO for a bad block,
// ENOTCONN when the server is unreachable...) match with errors.Is on the
// syscall.Errno. A Client is safe for concurrent use.
type Client struct {
	conn    grpc.ClientConnInterface
	writes  *writePipe
	windows *windowKeeper      // nil unless co-located (see shm.go)
	stop    context.CancelFunc // ends the Writes stream
	close   func() error
}

// Dial connects to the dataserver at addr ("unix:/path" or "host:port")
// in plaintext. The connection is made lazily.
func Dial(addr string) (*Client, error) { return DialCreds(addr, nil) }

// DialCreds is Dial with creds securing a TCP connection (the cluster's
// TLS: clustertls.Identity.ClientCreds); a unix socket is plaintext
// whatever creds says.
func DialCreds(addr string, creds credentials.TransportCredentials) (*Client, error) {
	conn, err := msgrpc.Dial(addr, creds)
	if err != nil {
		return nil, err
	}
	c := newClient(conn, conn.Close)
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		c.windows = &windowKeeper{path: path + shmSuffix}
		c.windows.get() // best effort: without a window, large writes go inline
	}
	return c, nil
}

// NewClient makes a Client on an existing connection, which the caller
// keeps owning.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return newClient(conn, func() error { return nil })
}

func newClient(conn grpc.ClientConnInterface, closeConn func() error) *Client {
	ctx, stop := context.WithCancel(context.Background())
	return &Client{conn: conn, writes: &writePipe{conn: conn, ctx: ctx}, stop: stop, close: closeConn}
}

// Close ends the Client's streams and closes a connection made by Dial.
func (c *Client) Close() error {
	c.stop()
	c.windows.close()
	return c.close()
}

// SharedMemory reports whether large writes go through a shared-memory
// window (a co-located dataserver accepted one).
func (c *Client) SharedMemory() bool { return c.windows.get() != nil }

func call[Req, Resp any](ctx context.Context, c *Client, method string, req *Req) (*Resp, error) {
	return msgrpc.Invoke[Req, Resp](ctx, c.conn, ServiceName, method, req)
}

// Write writes req.Data at req.Offset of req.Chunk (see WriteReq for the
// version and sync rules); it computes req.CRC. Concurrent writes share one
// stream (see writePipe). req.Data is sent without being copied, so the
// caller must not change it until Write returns; when ctx ends first, Write
// returns at once and the write may still be sent and applied (a change to
// the data after that is caught by its checksum: the write is refused).
func (c *Client) Write(ctx context.Context, req WriteReq) (*WriteResp, error) {
	req.CRC = chunkstore.CRC(req.Data)
	if len(req.Data) >= shmMinWrite && len(req.Data) <= shmSlot {
		if w := c.windows.get(); w != nil {
			if slot, off, ok := w.stage(req.Data); ok {
				shm := req
				shm.Shm, shm.ShmOff, shm.ShmLen, shm.Data = w.id, off, int64(len(req.Data)), nil
				resp, err := c.writes.write(ctx, &shm, func() { w.release(slot) })
				if !errors.Is(err, syscall.EBADF) {
					return resp, err
				}
				// The dataserver restarted and never saw this window: the
				// write was not applied, so it goes again, inline.
				c.windows.drop(w)
			}
		}
	}
	return c.writes.write(ctx, &req, nil)
}

// Read reads n bytes at off of chunk.
func (c *Client) Read(ctx context.Context, chunk uint64, off, n int64) (*ReadResp, error) {
	return call[ReadReq, ReadResp](ctx, c, "Read", &ReadReq{Chunk: chunk, Offset: off, Length: n})
}

// Sync makes every acknowledged mutation of chunk durable and returns the
// chunk's version.
func (c *Client) Sync(ctx context.Context, chunk uint64) (uint64, error) {
	r, err := call[SyncReq, SyncResp](ctx, c, "Sync", &SyncReq{Chunk: chunk})
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// SyncAll makes every acknowledged mutation of every chunk durable.
func (c *Client) SyncAll(ctx context.Context) error {
	_, err := call[SyncReq, SyncResp](ctx, c, "Sync", &SyncReq{All: true})
	return err
}

// Truncate sets a chunk's size.
func (c *Client) Truncate(ctx context.Context, req TruncateReq) (*WriteResp, error) {
	return call[TruncateReq, WriteResp](ctx, c, "Truncate", &req)
}

// Delete deletes a chunk (durably). Deleting a missing chunk succeeds.
func (c *Client) Delete(ctx context.Context, chunk uint64) error {
	_, err := call[DeleteReq, Empty](ctx, c, "Delete", &DeleteReq{Chunk: chunk})
	return err
}

// Quarantine takes a chunk's copy out of service (durably), keeping its
// files in the quarantine directory. A missing chunk succeeds.
func (c *Client) Quarantine(ctx context.Context, chunk uint64) error {
	_, err := call[DeleteReq, Empty](ctx, c, "Delete", &DeleteReq{Chunk: chunk, Quarantine: true})
	return err
}

// GrantLease installs a write lease.
func (c *Client) GrantLease(ctx context.Context, l Lease) error {
	_, err := call[Lease, Empty](ctx, c, "GrantLease", &l)
	return err
}

// RevokeLease ends a chunk's leases up to epoch.
func (c *Client) RevokeLease(ctx context.Context, chunk, epoch uint64) error {
	_, err := call[RevokeLeaseReq, Empty](ctx, c, "RevokeLease", &RevokeLeaseReq{Chunk: chunk, Epoch: epoch})
	return err
}

// SetReplicas sets the peers a chunk is replicated to, and how.
func (c *Client) SetReplicas(ctx context.Context, req SetReplicasReq) error {
	_, err := call[SetReplicasReq, Empty](ctx, c, "SetReplicas", &req)
	return err
}

// AwaitAcked returns what each replica of a chunk acknowledged once it
// differs from seen, or after wait (see ackwait.go).
func (c *Client) AwaitAcked(ctx context.Context, chunk uint64, seen map[string]uint64, wait time.Duration) (map[string]uint64, error) {
	r, err := call[AckedReq, AckedResp](ctx, c, "AwaitAcked", &AckedReq{Chunk: chunk, Seen: seen, Wait: wait})
	if err != nil {
		return nil, err
	}
	return r.Acked, nil
}

// ShipNow makes a lazily replicated chunk's pending changes due at once:
// a client waiting for a copy (write_ack at fsync) need not wait for the
// batch window.
func (c *Client) ShipNow(ctx context.Context, chunk uint64) error {
	_, err := call[ChunkReq, Empty](ctx, c, "ShipNow", &ChunkReq{Chunk: chunk})
	return err
}

// ChunkInfo describes a chunk, including its replicas' acknowledged
// versions.
func (c *Client) ChunkInfo(ctx context.Context, chunk uint64) (*ChunkInfo, error) {
	return call[ChunkReq, ChunkInfo](ctx, c, "ChunkInfo", &ChunkReq{Chunk: chunk})
}

// Checksums returns a chunk's block checksums at its current version.
func (c *Client) Checksums(ctx context.Context, chunk uint64) (*Checksums, error) {
	return call[ChunkReq, Checksums](ctx, c, "Checksums", &ChunkReq{Chunk: chunk})
}

// Stat describes the dataserver.
func (c *Client) Stat(ctx context.Context) (*Stat, error) {
	return call[Empty, Stat](ctx, c, "Stat", &Empty{})
}

// ListChunks lists the chunks the dataserver holds, for garbage
// collection (lis gc).
func (c *Client) ListChunks(ctx context.Context) (*ChunkList, error) {
	return call[Empty, ChunkList](ctx, c, "ListChunks", &Empty{})
}
