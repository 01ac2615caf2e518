package geosim

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// turnTiming is what one writer's turn cost: open, the first write (which
// moves the chunk's lease to the writer's dataserver) and close (which
// commits, and waits for the policy's copies).
type turnTiming struct{ open, write, close time.Duration }

// leaseTurns is scenario 6: writers in perth and london take turns on one
// file; after every turn both sites read the model's content, and each
// lease move is reported in round trips.
func leaseTurns(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:2], mountOn: []string{"perth-1", "london-1"}})
	if err != nil {
		return err
	}
	defer g.Close()
	sites := []string{"perth-1", "london-1"}
	if err := setPolicy(filepath.Join(g.Mnt["perth-1"], "shared"), policyPlusOne); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(6, 6))
	model := make([]byte, 2<<20)
	randFill(rng, model)
	if err := os.WriteFile(filepath.Join(g.Mnt["perth-1"], "shared", "f"), model, 0o644); err != nil {
		return g.fail("%v", err)
	}
	turns := map[string][]turnTiming{}
	for turn := range env.Scale.Turns {
		site := sites[(turn+1)%2] // london first: every turn moves the lease
		path := filepath.Join(g.Mnt[site], "shared", "f")
		data := make([]byte, 1+rng.IntN(256<<10))
		randFill(rng, data)
		off := rng.IntN(len(model) + 64<<10)
		t, err := writeTurn(path, off, data)
		if err != nil {
			return g.fail("turn %d in %s: %v", turn, site, err)
		}
		if end := off + len(data); end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], data)
		turns[site] = append(turns[site], t)
		for _, reader := range sites {
			got, err := os.ReadFile(filepath.Join(g.Mnt[reader], "shared", "f"))
			if err != nil {
				return g.fail("turn %d: read in %s: %v", turn, reader, err)
			}
			if !bytes.Equal(got, model) {
				return g.fail("turn %d (written in %s): %s reads %d bytes that differ from the model's %d", turn, site, reader, len(got), len(model))
			}
		}
	}
	for _, site := range sites {
		o, w, c := medians(turns[site])
		r.Add("turn in "+site, "median open %.1f, first write %.1f, close %.1f round trips (of %d turns)",
			rtts(o), rtts(w), rtts(c), len(turns[site]))
	}
	r.Add("contents", "equal to the model at both sites after each of %d turns", env.Scale.Turns)
	return nil
}

// writeTurn opens path, writes data at off and closes it, timing each.
func writeTurn(path string, off int, data []byte) (turnTiming, error) {
	var t turnTiming
	start := time.Now()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return t, err
	}
	t.open = time.Since(start)
	start = time.Now()
	if _, err := f.WriteAt(data, int64(off)); err != nil {
		f.Close()
		return t, fmt.Errorf("write %d bytes at %d: %w", len(data), off, err)
	}
	t.write = time.Since(start)
	start = time.Now()
	err = f.Close()
	t.close = time.Since(start)
	return t, err
}

func medians(ts []turnTiming) (open, write, close time.Duration) {
	col := func(f func(turnTiming) time.Duration) time.Duration {
		var ds []time.Duration
		for _, t := range ts {
			ds = append(ds, f(t))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	return col(func(t turnTiming) time.Duration { return t.open }),
		col(func(t turnTiming) time.Duration { return t.write }),
		col(func(t turnTiming) time.Duration { return t.close })
}

// rtts expresses d in round trips between two sites.
func rtts(d time.Duration) float64 { return float64(d) / float64(rtt) }

func randFill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
