package dataserver

import (
	"context"
	"time"
)

// Local is an in-process client of a Server, for a FUSE client in the same
// process (the embedded volume). It makes the same calls as Client, but
// without RPC encoding: a write costs one copy of its data (into the
// journal frame) instead of the transport's several.
type Local struct{ s *Server }

// Local returns an in-process client of s.
func (s *Server) Local() *Local { return &Local{s: s} }

// Write is Client.Write. The data is copied: the caller may reuse it once
// Write returns, while the server keeps the mutation until it is applied.
func (l *Local) Write(ctx context.Context, req WriteReq) (*WriteResp, error) {
	src := req.Data
	frame := newFrame(len(src))
	req.Data = frame[mutationHeader:]
	copy(req.Data, src)
	req.frame = frame
	req.pieces, req.CRC = checksumPieces(nil, req.Data, req.Offset)
	req.trusted = true
	return l.s.e.write(ctx, &req)
}

// Read is Client.Read.
func (l *Local) Read(ctx context.Context, chunk uint64, off, n int64) (*ReadResp, error) {
	return l.s.e.read(&ReadReq{Chunk: chunk, Offset: off, Length: n})
}

// ReadInto fills dst from off of chunk without the copy Read makes, and
// returns the version it read.
func (l *Local) ReadInto(ctx context.Context, chunk uint64, off int64, dst []byte) (uint64, error) {
	v, _, err := l.s.e.readInto(chunk, off, dst)
	return v, err
}

// RevokeLease is Client.RevokeLease.
func (l *Local) RevokeLease(ctx context.Context, chunk, epoch uint64) error {
	return l.s.e.revokeLease(ctx, &RevokeLeaseReq{Chunk: chunk, Epoch: epoch})
}

// SetReplicas is Client.SetReplicas.
func (l *Local) SetReplicas(ctx context.Context, req SetReplicasReq) error {
	return l.s.setReplicas(ctx, &req)
}

// AwaitAcked is Client.AwaitAcked.
func (l *Local) AwaitAcked(ctx context.Context, chunk uint64, seen map[string]uint64, wait time.Duration) (map[string]uint64, error) {
	return l.s.repl.awaitAcked(ctx, &AckedReq{Chunk: chunk, Seen: seen, Wait: wait}).Acked, nil
}

// ShipNow is Client.ShipNow.
func (l *Local) ShipNow(ctx context.Context, chunk uint64) error {
	l.s.repl.shipNow(chunk)
	return nil
}

// ChunkInfo is Client.ChunkInfo.
func (l *Local) ChunkInfo(ctx context.Context, chunk uint64) (*ChunkInfo, error) {
	return l.s.chunkInfo(chunk)
}

// Sync is Client.Sync.
func (l *Local) Sync(ctx context.Context, chunk uint64) (uint64, error) {
	r, err := l.s.e.sync(ctx, &SyncReq{Chunk: chunk})
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// SyncAll is Client.SyncAll.
func (l *Local) SyncAll(ctx context.Context) error {
	_, err := l.s.e.sync(ctx, &SyncReq{All: true})
	return err
}

// Truncate is Client.Truncate.
func (l *Local) Truncate(ctx context.Context, req TruncateReq) (*WriteResp, error) {
	return l.s.e.truncate(ctx, &req)
}

// GrantLease is Client.GrantLease.
func (l *Local) GrantLease(ctx context.Context, lease Lease) error {
	return l.s.e.grantLease(ctx, &lease)
}

// Delete is Client.Delete.
func (l *Local) Delete(ctx context.Context, chunk uint64) error {
	return l.s.deleteChunk(ctx, chunk, false)
}

// Quarantine is Client.Quarantine.
func (l *Local) Quarantine(ctx context.Context, chunk uint64) error {
	return l.s.deleteChunk(ctx, chunk, true)
}

// ChunkIDs lists the chunks this dataserver holds (deleted ones aside).
func (l *Local) ChunkIDs() []uint64 {
	var out []uint64
	for _, cs := range l.s.e.snapshotStates() {
		cs.mu.RLock()
		if !cs.deleted {
			out = append(out, cs.id)
		}
		cs.mu.RUnlock()
	}
	return out
}
