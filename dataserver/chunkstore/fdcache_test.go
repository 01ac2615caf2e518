package chunkstore

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// countFDs counts the process's open file descriptors.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// TestOpenFilesBounded writes, rereads, checkpoints and reloads many chunks
// through a store that may keep only a few data files open, and checks
// both the content and that the store (and the process) never holds more
// files than the limit.
func TestOpenFilesBounded(t *testing.T) {
	const limit, chunks = 4, 60
	r := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	base := countFDs(t)
	s, err := Open(dir, Options{MaxOpenFiles: limit})
	require.NoError(t, err)
	models := make([]model, chunks)
	cs := make([]*Chunk, chunks)
	checkBound := func() {
		t.Helper()
		require.LessOrEqual(t, s.FileStats().Open, limit)
		require.LessOrEqual(t, countFDs(t)-base, limit)
	}
	for round := range 3 {
		for i := range cs {
			if cs[i] == nil {
				cs[i], err = s.Open(uint64(i))
				require.NoError(t, err)
			}
			p := randBytes(r, 1+r.IntN(3*BlockSize))
			off := r.Int64N(4 * BlockSize)
			require.NoError(t, cs[i].WriteAt(p, off))
			models[i].write(p, off)
			if round == 1 && i%3 == 0 {
				n := r.Int64N(int64(len(models[i])))
				require.NoError(t, cs[i].Truncate(n))
				models[i].truncate(n)
			}
			checkBound()
		}
		for _, i := range r.Perm(chunks) {
			got := make([]byte, len(models[i]))
			require.NoError(t, cs[i].ReadAt(got, 0))
			require.True(t, bytes.Equal(models[i], got), "round %d chunk %d", round, i)
			checkBound()
		}
	}
	st := s.FileStats()
	require.Greater(t, st.Evictions, uint64(chunks), "files were closed and reopened")
	require.Positive(t, st.EvictionSyncs, "nothing was checkpointed: evicted files had to be synced")

	snaps := make([]Snapshot, chunks)
	for i, c := range cs {
		snaps[i] = mustSnapshot(t, c)
	}
	require.NoError(t, s.Checkpoint(snaps))
	checkBound()
	opens := s.FileStats().Opens
	require.NoError(t, s.Checkpoint(snaps))
	require.Equal(t, opens, s.FileStats().Opens, "a checkpoint of synced chunks reopens nothing")
	for _, c := range cs {
		require.NoError(t, c.Close())
	}
	require.Zero(t, s.FileStats().Open)
	require.Equal(t, base, countFDs(t))

	s2, err := Open(dir, Options{MaxOpenFiles: limit})
	require.NoError(t, err)
	ids, err := s2.List()
	require.NoError(t, err)
	require.Len(t, ids, chunks)
	for _, id := range ids {
		c, err := s2.Open(id)
		require.NoError(t, err)
		cs[id] = c
	}
	require.Zero(t, s2.FileStats().Open, "loading chunks opens no data file")
	for i, c := range cs {
		got := make([]byte, len(models[i]))
		require.NoError(t, c.ReadAt(got, 0))
		require.True(t, bytes.Equal(models[i], got), "reloaded chunk %d", i)
		require.LessOrEqual(t, s2.FileStats().Open, limit)
	}
	for _, c := range cs {
		require.NoError(t, c.Close())
	}
}

// TestOpenFilesPreferClean: eviction closes idle clean files first and
// fdatasyncs an unsynced one only when no clean one is idle.
func TestOpenFilesPreferClean(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxOpenFiles: 3})
	require.NoError(t, err)
	var cs []*Chunk
	for i := range 6 {
		c, err := s.Open(uint64(i))
		require.NoError(t, err)
		cs = append(cs, c)
		t.Cleanup(func() { c.Close() })
	}
	// Every chunk written and synced but chunk 2: the files of 0, 1 and
	// 3 are closed for 3, 4 and 5, chunk 2's stays open without a sync.
	for i, c := range cs {
		require.NoError(t, c.WriteAt([]byte("data"), 0))
		if i != 2 {
			require.NoError(t, c.SyncData())
		}
	}
	require.Equal(t, FileStats{Open: 3, Limit: 3, Unsynced: 1, Opens: 6, Evictions: 3}, s.FileStats())
	buf := make([]byte, 4)
	require.NoError(t, cs[0].ReadAt(buf, 0)) // closes 4's (clean) file
	require.Equal(t, FileStats{Open: 3, Limit: 3, Unsynced: 1, Opens: 7, Evictions: 4}, s.FileStats())

	// Open now: 2, 5, 0. Make them all unsynced: the next open has to
	// fdatasync the least recently used one, chunk 2's.
	require.NoError(t, cs[5].WriteAt([]byte("x"), 0))
	require.NoError(t, cs[0].WriteAt([]byte("x"), 0))
	require.NoError(t, cs[1].ReadAt(buf, 0))
	require.Equal(t, FileStats{Open: 3, Limit: 3, Unsynced: 2, Opens: 8, Evictions: 5, EvictionSyncs: 1}, s.FileStats())
	require.NoError(t, cs[2].SyncData())
	require.Equal(t, uint64(8), s.FileStats().Opens, "chunk 2 was synced when closed: no reopen to sync it")
	require.NoError(t, cs[2].ReadAt(buf, 0))
	require.Equal(t, []byte("data"), buf)
}

// TestOpenFilesConcurrent hammers a store with a tiny limit from many
// goroutines (each owning some chunks, as the engine's per-chunk locks
// provide) while a checkpointer syncs them all; run with -race.
func TestOpenFilesConcurrent(t *testing.T) {
	const limit, workers, perWorker = 2, 6, 5
	s, err := Open(t.TempDir(), Options{MaxOpenFiles: limit})
	require.NoError(t, err)
	cs := make([]*Chunk, workers*perWorker)
	models := make([]model, len(cs))
	for i := range cs {
		cs[i], err = s.Open(uint64(i))
		require.NoError(t, err)
	}
	var mu sync.RWMutex // snapshots and writes need exclusive access, reads shared
	stop := make(chan struct{})
	ckptDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				ckptDone <- nil
				return
			default:
			}
			mu.Lock()
			snaps := make([]Snapshot, len(cs))
			for i, c := range cs {
				snaps[i] = mustSnapshot(t, c)
			}
			mu.Unlock()
			if err := s.Checkpoint(snaps); err != nil {
				ckptDone <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range 40 {
				i := w*perWorker + r.IntN(perWorker)
				p := randBytes(r, 1+r.IntN(BlockSize))
				off := r.Int64N(2 * BlockSize)
				mu.Lock()
				err := cs[i].WriteAt(p, off)
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
				models[i].write(p, off)
				got := make([]byte, len(models[i]))
				mu.RLock()
				err = cs[i].ReadAt(got, 0)
				mu.RUnlock()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(models[i], got) {
					errs <- os.ErrInvalid
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	require.NoError(t, <-ckptDone)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, s.FileStats().Open, limit)
	for _, c := range cs {
		require.NoError(t, c.Close())
	}
	require.Zero(t, s.FileStats().Open)
}

// TestClosedChunkIsNotReopened: after Close (and Remove) a Chunk's
// operations fail instead of recreating the data file.
func TestClosedChunkIsNotReopened(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxOpenFiles: 1})
	require.NoError(t, err)
	c, err := s.Open(7)
	require.NoError(t, err)
	require.NoError(t, c.WriteAt([]byte("abc"), 0))
	other, err := s.Open(8)
	require.NoError(t, err)
	require.NoError(t, other.WriteAt([]byte("x"), 0)) // evicts 7's file
	require.Equal(t, uint64(1), s.FileStats().Evictions)
	require.NoError(t, s.Remove(7, c))
	require.ErrorIs(t, c.WriteAt([]byte("d"), 0), os.ErrClosed)
	_, err = os.Stat(s.dataPath(7))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, other.Close())
}
