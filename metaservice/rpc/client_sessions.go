package rpc

import (
	"context"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Session, lock, chunk and administrative operations of Client; each is
// documented on the metaservice.Service method of the same name.

func (c *Client) Open(ctx context.Context, cr *ms.Cred, ino ms.Ino, flags uint32, session uint64) (*ms.Attr, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[openReq, ms.Attr](ctx, c, "Open", &openReq{Cred: wc, Ino: ino, Flags: flags, Session: session})
}

func (c *Client) Release(ctx context.Context, ino ms.Ino, session uint64) error {
	return callErr(ctx, c, "Release", &releaseReq{Ino: ino, Session: session})
}

// ReleaseOpens sends inos in batches of MaxReleaseOpens, each one
// transaction; on an error, the batches before it are released.
func (c *Client) ReleaseOpens(ctx context.Context, inos []ms.Ino, session uint64) error {
	for len(inos) > 0 {
		n := min(len(inos), MaxReleaseOpens)
		if err := callErr(ctx, c, "ReleaseOpens", &releaseOpensReq{Inos: inos[:n], Session: session}); err != nil {
			return err
		}
		inos = inos[n:]
	}
	return nil
}

func (c *Client) RegisterSession(ctx context.Context, info ms.SessionInfo) (uint64, error) {
	r, err := call[registerReq, idResp](ctx, c, "RegisterSession", &registerReq{Info: info})
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}

func (c *Client) Heartbeat(ctx context.Context, id uint64) error {
	return callErr(ctx, c, "Heartbeat", &idReq{ID: id})
}

func (c *Client) CloseSession(ctx context.Context, id uint64) error {
	return callErr(ctx, c, "CloseSession", &idReq{ID: id})
}

func (c *Client) ListSessions(ctx context.Context) ([]ms.Session, error) {
	r, err := call[empty, sessionsResp](ctx, c, "ListSessions", &empty{})
	if err != nil {
		return nil, err
	}
	return fromWireSessions(r.Sessions), nil
}

// Flock with block is a long call: it returns when the lock is taken, ctx
// ends or the metaservice stops (both EINTR).
func (c *Client) Flock(ctx context.Context, ino ms.Ino, h ms.LockOwner, typ uint32, block bool) error {
	return callErr(ctx, c, "Flock", &flockReq{Ino: ino, Holder: h, Type: typ, Block: block})
}

func (c *Client) GetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock) (ms.PosixLock, error) {
	r, err := call[lockReq, ms.PosixLock](ctx, c, "GetLk", &lockReq{Ino: ino, Lock: l})
	if err != nil {
		return ms.PosixLock{}, err
	}
	return *r, nil
}

// SetLk with block (F_SETLKW) is a long call, as Flock's.
func (c *Client) SetLk(ctx context.Context, ino ms.Ino, l ms.PosixLock, block bool) error {
	return callErr(ctx, c, "SetLk", &lockReq{Ino: ino, Lock: l, Block: block})
}

func (c *Client) ReleaseOwner(ctx context.Context, ino ms.Ino, h ms.LockOwner) error {
	return callErr(ctx, c, "ReleaseOwner", &ownerReq{Ino: ino, Holder: h})
}

func (c *Client) AllocChunk(ctx context.Context, ino ms.Ino, index uint32, dataserver string, lease time.Duration) (*ms.ChunkRecord, error) {
	return call[chunkReq, ms.ChunkRecord](ctx, c, "AllocChunk", &chunkReq{Ino: ino, Index: index,
		Dataserver: dataserver, Lease: int64(lease)})
}

func (c *Client) AcquireLease(ctx context.Context, ino ms.Ino, index uint32, dataserver string, dur time.Duration) (*ms.ChunkRecord, error) {
	return call[chunkReq, ms.ChunkRecord](ctx, c, "AcquireLease", &chunkReq{Ino: ino, Index: index,
		Dataserver: dataserver, Lease: int64(dur)})
}

func (c *Client) Chunks(ctx context.Context, ino ms.Ino, from, to uint32) ([]ms.IndexedChunk, error) {
	r, err := call[chunksReq, chunksResp](ctx, c, "Chunks", &chunksReq{Ino: ino, From: from, To: to})
	if err != nil {
		return nil, err
	}
	return fromWireChunks(r.Chunks), nil
}

// CommitWrite carries at most MaxCommitChunks chunk versions (E2BIG).
func (c *Client) CommitWrite(ctx context.Context, ino ms.Ino, size uint64, mtime int64, chunks []ms.ChunkVersion) (*ms.Attr, error) {
	return call[commitReq, ms.Attr](ctx, c, "CommitWrite", &commitReq{Ino: ino, Size: size, Mtime: mtime, Chunks: chunks})
}

// PendingDeletions returns at most MaxDeletions deletions, whatever limit
// asks.
func (c *Client) PendingDeletions(ctx context.Context, limit int) ([]ms.Deletion, error) {
	r, err := call[limitReq, deletionsResp](ctx, c, "PendingDeletions", &limitReq{Limit: int64(limit)})
	if err != nil {
		return nil, err
	}
	return fromWireDeletions(r.Deletions), nil
}

// AckDeletions sends chunks in batches of MaxDeletions, each one
// transaction; on an error, the batches before it are acknowledged
// (acknowledging again is harmless).
func (c *Client) AckDeletions(ctx context.Context, chunks []ms.ChunkID) error {
	for len(chunks) > 0 {
		n := min(len(chunks), MaxDeletions)
		if err := callErr(ctx, c, "AckDeletions", &ackReq{Chunks: chunks[:n]}); err != nil {
			return err
		}
		chunks = chunks[n:]
	}
	return nil
}

func (c *Client) CreateShard(ctx context.Context, cr *ms.Cred, dir ms.Ino, path string) (*ms.ShardRecord, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[createShardReq, ms.ShardRecord](ctx, c, "CreateShard", &createShardReq{Cred: wc, Dir: dir, Path: path})
}

func (c *Client) ListShards(ctx context.Context) ([]ms.ShardInfo, error) {
	r, err := call[empty, shardsResp](ctx, c, "ListShards", &empty{})
	if err != nil {
		return nil, err
	}
	return fromWireShards(r.Shards), nil
}

func (c *Client) SetShardSite(ctx context.Context, id ms.ShardID, site string) error {
	return callErr(ctx, c, "SetShardSite", &siteReq{Shard: id, Site: site})
}

func (c *Client) PlacementRules(ctx context.Context, group, labelKey string, voters int) ([]byte, error) {
	r, err := call[placementReq, bytesResp](ctx, c, "PlacementRules", &placementReq{Group: group,
		LabelKey: labelKey, Voters: int64(voters)})
	if err != nil {
		return nil, err
	}
	return r.B, nil
}

// Fsck may run for long on a big namespace: give ctx a generous deadline.
func (c *Client) Fsck(ctx context.Context) (*ms.FsckReport, error) {
	r, err := call[empty, fsckResp](ctx, c, "Fsck", &empty{})
	if err != nil {
		return nil, err
	}
	return fromWireFsck(r), nil
}
