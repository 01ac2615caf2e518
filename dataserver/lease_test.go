package dataserver

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGrantLeaseDoesNotSync: granting leases journals their epochs without
// an fdatasync; the first durable write covers them all in one sync round,
// and a revoke is synced at once.
func TestGrantLeaseDoesNotSync(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, shortDir(t), "ds1", func(c *Config) {
		c.NoLeases = false
		c.ApplyDelay, c.CheckpointInterval = time.Hour, time.Hour // only clients sync
	})
	j := ts.e.j
	rounds := func() uint64 { return j.Stats().SyncRounds }
	before := rounds()
	expiry := time.Now().Add(time.Hour).UnixNano()
	l := ts.Local()
	for i := range 100 {
		lease := Lease{Chunk: uint64(1 + i), Holder: "ds1", Epoch: uint64(1 + i%3), Expiry: expiry}
		if i%2 == 0 {
			require.NoError(t, l.GrantLease(ctx, lease))
		} else {
			require.NoError(t, ts.client.GrantLease(ctx, lease))
		}
	}
	// a renewal (same epoch, later expiry) journals nothing at all
	last := j.LastLSN()
	require.NoError(t, l.GrantLease(ctx, Lease{Chunk: 1, Holder: "ds1", Epoch: 1, Expiry: expiry + 1}))
	require.Equal(t, last, j.LastLSN())
	require.Equal(t, before, rounds(), "GrantLease issued no fdatasync")
	require.Less(t, j.DurableLSN(), last)

	_, err := l.Write(ctx, WriteReq{Chunk: 100, Data: []byte("x"), Sync: true})
	require.NoError(t, err)
	require.Equal(t, before+1, rounds(), "one round for the write and every epoch before it")
	require.Equal(t, j.LastLSN(), j.DurableLSN())

	// a revoke of the epoch an unsynced grant set syncs that grant
	require.NoError(t, l.GrantLease(ctx, Lease{Chunk: 200, Holder: "ds1", Epoch: 4, Expiry: expiry}))
	require.Less(t, j.DurableLSN(), j.LastLSN())
	require.NoError(t, ts.client.RevokeLease(ctx, 200, 4))
	require.Equal(t, j.LastLSN(), j.DurableLSN())
	require.Equal(t, before+2, rounds())
}

// TestLeaseEpochSurvivesPowerCut kills a dataserver process and then
// drops every journal record that was not durable, as a power cut would
// (a SIGKILL alone keeps them in the page cache). An epoch survives when a
// durable write under it, or any later durable record, does; a revoked
// epoch survives; a grant followed by nothing durable is lost, and the
// chunk comes back as it was before it.
func TestLeaseEpochSurvivesPowerCut(t *testing.T) {
	ctx := context.Background()
	dir := shortDir(t)
	const (
		written = 1 // written under its lease, synced
		riding  = 2 // granted, no write; a later write elsewhere is synced
		revoked = 3 // granted, then revoked
		lost    = 4 // granted, nothing durable after
	)
	ch := startChild(t, dir, childLeasesEnv+"=1", childLazyEnv+"=1")
	expiry := time.Now().Add(time.Hour).UnixNano()
	grant := func(c *Client, chunk, epoch uint64) error {
		return c.GrantLease(ctx, Lease{Chunk: chunk, Holder: "child", Epoch: epoch, Expiry: expiry})
	}
	cl := ch.client
	require.NoError(t, grant(cl, written, 7))
	_, err := cl.Write(ctx, WriteReq{Chunk: written, Data: []byte("one"), Sync: true})
	require.NoError(t, err)
	require.NoError(t, grant(cl, riding, 5))
	_, err = cl.Write(ctx, WriteReq{Chunk: written, ExpectedVersion: 1, Offset: 3, Data: []byte("two"), Sync: true})
	require.NoError(t, err)
	require.NoError(t, grant(cl, revoked, 4))
	require.NoError(t, cl.RevokeLease(ctx, revoked, 4))
	require.NoError(t, grant(cl, lost, 9))
	_, err = cl.Write(ctx, WriteReq{Chunk: written, ExpectedVersion: 2, Offset: 6, Data: []byte("three")})
	require.NoError(t, err)
	st, err := cl.Stat(ctx)
	require.NoError(t, err)
	require.Less(t, st.JournalDurable, st.JournalLast)
	ch.kill()
	require.Equal(t, int(st.JournalLast-st.JournalDurable), powerCut(t, filepath.Join(dir, "journal"), st.JournalDurable))

	ch = startChild(t, dir, childLeasesEnv+"=1")
	defer ch.kill()
	cl = ch.client
	for _, c := range []struct {
		chunk, epoch, version uint64
	}{{written, 7, 2}, {riding, 5, 0}, {revoked, 4, 0}} {
		info, err := cl.ChunkInfo(ctx, c.chunk)
		require.NoError(t, err, "chunk %d", c.chunk)
		require.Equal(t, c.epoch, info.Epoch, "chunk %d", c.chunk)
		require.Equal(t, c.version, info.Version, "chunk %d", c.chunk)
		require.Nil(t, info.Lease, "leases do not survive a restart")
		require.ErrorIs(t, grant(cl, c.chunk, c.epoch-1), syscall.ESTALE, "chunk %d: older epoch", c.chunk)
	}
	_, err = cl.ChunkInfo(ctx, lost)
	require.ErrorIs(t, err, syscall.ENOENT, "the grant went with the records after it")
	r, err := cl.Read(ctx, written, 0, 100)
	require.NoError(t, err)
	require.Equal(t, "onetwo", string(r.Data[:r.Size]))

	_, err = cl.Write(ctx, WriteReq{Chunk: written, ExpectedVersion: 2, Data: []byte("x")})
	require.ErrorIs(t, err, syscall.EPERM, "no lease after a restart")
	require.NoError(t, grant(cl, written, 7))
	_, err = cl.Write(ctx, WriteReq{Chunk: written, ExpectedVersion: 2, Data: []byte("x")})
	require.NoError(t, err)
	require.NoError(t, grant(cl, lost, 9))
}

// powerCut removes from a stopped dataserver's journal every record past
// durable, and returns how many it removed. It walks the segment files by
// the layout documented in package journal: a 32-byte header whose bytes
// 16..24 are the first LSN, then records with a 24-byte header (length at
// 4..8, LSN at 8..16); zeros past the last record are preallocated space.
func powerCut(t *testing.T, dir string, durable uint64) int {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	sort.Strings(segs)
	removed := 0
	for _, p := range segs {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(b), 32, p)
		cut := -1
		if binary.LittleEndian.Uint64(b[16:24]) > durable {
			cut = 0
		}
		for off := 32; off+24 <= len(b); {
			n := binary.LittleEndian.Uint32(b[off+4:])
			lsn := binary.LittleEndian.Uint64(b[off+8:])
			if lsn == 0 {
				break
			}
			if lsn > durable {
				removed++
				if cut < 0 {
					cut = off
				}
			}
			off += 24 + int(n)
		}
		switch {
		case cut == 0:
			require.NoError(t, os.Remove(p))
		case cut > 0:
			require.NoError(t, os.Truncate(p, int64(cut)))
		}
	}
	return removed
}

// TestRevokeMakesAcknowledgedWritesDurable: a revoke at the chunk's
// current epoch journals and syncs everything acknowledged under the
// lease, direct appends and writes behind them included, so the next
// holder takes over from that state and nothing of it is shipped after
// the revoke.
func TestRevokeMakesAcknowledgedWritesDurable(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, shortDir(t), "ds1", func(c *Config) {
		c.NoLeases = false
		c.ApplyDelay, c.CheckpointInterval = time.Hour, time.Hour // only clients sync
	})
	const chunk = 7
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts.e.store.SetBeforeSync(func(uint64) { once.Do(func() { close(entered); <-release }) })
	expiry := time.Now().Add(time.Hour).UnixNano()
	require.NoError(t, ts.client.GrantLease(ctx, Lease{Chunk: chunk, Holder: "ds1", Epoch: 3, Expiry: expiry}))
	resp, err := ts.client.Write(ctx, WriteReq{Chunk: chunk, Data: make([]byte, 1<<20)})
	require.NoError(t, err)
	<-entered // the flusher holds the append back
	resp, err = ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: resp.Version, Offset: 100, Data: []byte("behind")})
	require.NoError(t, err)
	info, err := ts.client.ChunkInfo(ctx, chunk)
	require.NoError(t, err)
	require.Less(t, info.DurableVersion, resp.Version)
	close(release)

	require.NoError(t, ts.client.RevokeLease(ctx, chunk, 3))
	info, err = ts.client.ChunkInfo(ctx, chunk)
	require.NoError(t, err)
	require.Equal(t, resp.Version, info.DurableVersion, "every write acknowledged before the revoke is durable")
	_, err = ts.client.Write(ctx, WriteReq{Chunk: chunk, ExpectedVersion: resp.Version, Data: []byte("late")})
	require.ErrorIs(t, err, syscall.EPERM)
}
