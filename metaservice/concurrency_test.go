package metaservice

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// entry is one name a worker owns in the model.
type entry struct {
	dir   Ino
	ino   Ino
	isDir bool
}

// worker owns every name with its prefix, so its model is exact whatever
// the other workers do; they still contend on the shared directories'
// attributes (mtime, nlink), which is what exercises conflicts and retries.
type worker struct {
	f      *fixture
	rng    *rand.Rand
	prefix string
	dirs   []Ino
	names  map[string]entry
	seq    int
}

func (w *worker) newName() string {
	w.seq++
	return fmt.Sprintf("%s%d", w.prefix, w.seq)
}

func (w *worker) pick(wantDir bool) (string, entry, bool) {
	var cands []string
	for n, e := range w.names {
		if e.isDir == wantDir {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return "", entry{}, false
	}
	n := cands[w.rng.Intn(len(cands))]
	return n, w.names[n], true
}

func (w *worker) step(ctx context.Context) error {
	s := w.f.s
	dir := w.dirs[w.rng.Intn(len(w.dirs))]
	switch op := w.rng.Intn(7); op {
	case 0, 1:
		n := w.newName()
		a, err := s.Mknod(ctx, alice, dir, n, NewNode{Mode: 0644})
		if err == nil {
			w.names[n] = entry{dir: dir, ino: a.Ino}
		}
		return err
	case 2:
		n := w.newName()
		a, err := s.Mkdir(ctx, alice, dir, n, NewNode{Mode: 0755})
		if err == nil {
			w.names[n] = entry{dir: dir, ino: a.Ino, isDir: true}
		}
		return err
	case 3:
		_, e, ok := w.pick(false)
		if !ok {
			return nil
		}
		n := w.newName()
		_, err := s.Link(ctx, alice, e.ino, dir, n)
		if err == nil {
			w.names[n] = entry{dir: dir, ino: e.ino}
		}
		return err
	case 4:
		old, e, ok := w.pick(w.rng.Intn(2) == 0)
		if !ok {
			return nil
		}
		n := w.newName()
		err := s.Rename(ctx, alice, e.dir, old, dir, n, 0)
		if err == nil {
			delete(w.names, old)
			e.dir = dir
			w.names[n] = e
		}
		return err
	case 5:
		n, e, ok := w.pick(false)
		if !ok {
			return nil
		}
		err := s.Unlink(ctx, alice, e.dir, n)
		if err == nil {
			delete(w.names, n)
		}
		return err
	default:
		n, e, ok := w.pick(true)
		if !ok {
			return nil
		}
		err := s.Rmdir(ctx, alice, e.dir, n)
		if err == nil {
			delete(w.names, n)
		}
		return err
	}
}

// testConcurrentNamespace runs workers doing random creates, mkdirs,
// links, renames (also across shards), unlinks and rmdirs at once, then
// checks the tree against the union of their models and runs fsck.
func testConcurrentNamespace(t *testing.T, f *fixture, workers, ops int) {
	shared := f.mkdir(alice, RootIno, "shared", 0777)
	other := f.mkdir(alice, RootIno, "other-shard", 0777)
	_, err := f.s.CreateShard(f.ctx, Root, other.Ino, "/other-shard")
	require.NoError(t, err)
	other = f.lookup(RootIno, "other-shard")
	inner := f.mkdir(alice, other.Ino, "inner", 0777)
	dirs := []Ino{RootIno, shared.Ino, other.Ino, inner.Ino}

	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range ws {
		ws[i] = &worker{f: f, rng: rand.New(rand.NewSource(int64(i))), prefix: fmt.Sprintf("w%d-", i),
			dirs: dirs, names: map[string]entry{}}
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for j := 0; j < ops; j++ {
				if err := w.step(f.ctx); err != nil {
					errs <- fmt.Errorf("%s op %d: %w", w.prefix, j, err)
					return
				}
			}
		}(ws[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	want := map[string]entry{}
	links := map[Ino]int{}
	for _, w := range ws {
		for n, e := range w.names {
			want[n] = e
			if !e.isDir {
				links[e.ino]++
			}
		}
	}
	got := map[string]entry{}
	for _, d := range dirs {
		for _, n := range f.names(d) {
			if n == "shared" || n == "other-shard" || n == "inner" {
				continue
			}
			a := f.lookup(d, n)
			got[n] = entry{dir: d, ino: a.Ino, isDir: a.IsDir()}
			if !a.IsDir() {
				require.Equal(t, uint32(links[a.Ino]), a.Nlink, n)
			}
		}
	}
	require.Equal(t, want, got)
	f.fsckClean()
}

func TestConcurrentNamespaceEmbedded(t *testing.T) {
	f := newFixture(t, memoryEngine)
	testConcurrentNamespace(t, f, 8, 300)
}
