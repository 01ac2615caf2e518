package geosim

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// scrubPass is how long the scrubber of scenario 12 takes to read the
// file's copy once: its rate is set from the file's size.
const scrubPass = 8 * time.Second

// scrubBlock is the block of the copy whose bytes are flipped (blocks are
// 64 KiB), and scrubFlip what is written over it.
const (
	scrubBlock = 17
	scrubFlip  = "flipped"
)

// steadyReader reads a file whole through a mount, again and again, and
// counts the reads that did not return its content.
type steadyReader struct {
	path string
	want []byte
	// failuresAllowed lets reads fail (not return wrong content): a
	// mount just back from a partition refuses some while it reconnects.
	failuresAllowed bool

	mu                  sync.Mutex
	reads, wrong, fails int
	firstProblem        string
}

// run reads until ctx ends.
func (sr *steadyReader) run(ctx context.Context) {
	for ctx.Err() == nil {
		got, err := readDirect(sr.path)
		d := firstDifference(got, sr.want)
		sr.mu.Lock()
		sr.reads++
		switch {
		case err != nil && ctx.Err() == nil:
			sr.fails++
			sr.firstProblem = cmp.Or(sr.firstProblem, err.Error())
		case err == nil && d != "":
			sr.wrong++
			sr.firstProblem = cmp.Or(sr.firstProblem, d)
		}
		sr.mu.Unlock()
		sleep(ctx, 200*time.Millisecond)
	}
}

// problem describes what went wrong in sr's reads, or "".
func (sr *steadyReader) problem() string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	switch {
	case sr.reads == sr.fails:
		return fmt.Sprintf("%s: none of %d reads succeeded; the first error: %s", sr.path, sr.reads, sr.firstProblem)
	case sr.wrong == 0 && (sr.fails == 0 || sr.failuresAllowed):
		return ""
	}
	return fmt.Sprintf("%s: %d of %d reads wrong, %d failed; the first: %s", sr.path, sr.wrong, sr.reads, sr.fails, sr.firstProblem)
}

// scrubRepair is scenario 12: bytes are flipped in london's copy of a
// file on disk, where no reader goes. London's scrubber, reading its
// copy once per scrubPass, finds the bad block and lis status names it;
// the primary sends the block again, and the copies are identical. Reads
// of the file through mounts in perth and nyc, all along, return its
// content. Reported: when the damage was found and when it was repaired.
func scrubRepair(ctx context.Context, env Env, r *Report) error {
	size := env.Scale.FaultBytes
	rate := fmt.Sprintf("%dB/s", int64(float64(size)/scrubPass.Seconds()))
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1", "nyc-1"}, metaArgs: faultMetaArgs,
		dsArgs: func(*Host) []string { return []string{"--scrub-rate", rate} }})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "scrub")
	if err := setPolicy(dir, policyLocalOnly); err != nil {
		return err
	}
	data := seededBytes(120, size)
	path := filepath.Join(dir, "f")
	if err := writeWhole(path, data); err != nil {
		return g.fail("%v", err)
	}
	if _, err := g.waitCurrent(ctx, path, 3, 5*time.Minute); err != nil {
		return g.fail("before the damage: %v", err)
	}
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil {
		return g.fail("chunks of %s: %v", path, err)
	}
	readers := []*steadyReader{{path: path, want: data}, {path: filepath.Join(g.Mnt["nyc-1"], "scrub", "f"), want: data}}
	rctx, stopReaders := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, sr := range readers {
		wg.Add(1)
		go func() { defer wg.Done(); sr.run(rctx) }()
	}
	err = damageAndRepair(ctx, g, r, uint64(recs[0].ID), rate)
	stopReaders()
	wg.Wait()
	if err != nil {
		return err
	}
	return readersVerdict(g, r, readers)
}

// damageAndRepair flips bytes of london's copy of chunk and waits for
// the scrubber to find them and the primary to repair them.
func damageAndRepair(ctx context.Context, g *geo, r *Report, chunk uint64, rate string) error {
	london := g.DS["london-1"]
	file := chunkFile(london.Dir, chunk, "dat")
	if err := overwrite(file, scrubBlock<<16+100, []byte(scrubFlip)); err != nil {
		return g.fail("damage london's copy: %v", err)
	}
	flipped := time.Now()
	var damaged []damagedCopy
	err := waitFor(ctx, 3*scrubPass+time.Minute, "the damage found", func() bool {
		st, err := g.status(ctx)
		damaged = nil
		if err == nil {
			damaged = st.Damaged
		}
		return len(damaged) > 0
	})
	if err != nil {
		return g.fail("london's scrubber (%s, a pass every %v) never reported the flipped bytes: %v", rate, scrubPass, err)
	}
	found := time.Since(flipped)
	r.Add("damage found", "%v after the flip (a pass takes %v at %s; heartbeats every 2 s)", found.Round(100*time.Millisecond), scrubPass, rate)
	d := damaged[0]
	if len(damaged) != 1 || d.Dataserver != "london-1" || d.Chunk != fmt.Sprintf("%x", chunk) || !slices.Contains(d.Blocks, scrubBlock) {
		return g.fail("lis status reported %+v, want block %d of chunk %x on london-1", damaged, scrubBlock, chunk)
	}
	if err := waitRepaired(ctx, g, chunk); err != nil {
		return err
	}
	r.Add("copy repaired", "%v after the damage was found", (time.Since(flipped) - found).Round(100*time.Millisecond))
	return flipGone(g, file)
}

// waitRepaired waits until lis status reports no damage and the three
// copies of chunk are identical.
func waitRepaired(ctx context.Context, g *geo, chunk uint64) error {
	copies := []string{"perth-1", "london-1", "nyc-1"}
	last := ""
	err := waitFor(ctx, 2*time.Minute, "the damaged copy repaired", func() bool {
		st, err := g.status(ctx)
		if err != nil || len(st.Damaged) > 0 {
			last = fmt.Sprintf("status: %v %+v", err, st)
			return false
		}
		last = g.sameCopies(ctx, chunk, copies)
		return last == ""
	})
	if err != nil {
		return g.fail("%v (%s)", err, last)
	}
	return nil
}

// flipGone checks that the flipped bytes left london's chunk file.
func flipGone(g *geo, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return g.fail("london's copy after the repair: %v", err)
	}
	defer f.Close()
	got := make([]byte, len(scrubFlip))
	if _, err := f.ReadAt(got, scrubBlock<<16+100); err != nil {
		return g.fail("london's copy after the repair: %v", err)
	}
	if string(got) == scrubFlip {
		return g.fail("the flipped bytes are still in london's chunk file %s", file)
	}
	return nil
}

// overwrite writes b at off of the file at path, as a failing disk would
// (behind the dataserver's back).
func overwrite(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readersVerdict reports the steady readers' reads and fails on any that
// did not return the file's content.
func readersVerdict(g *geo, r *Report, readers []*steadyReader) error {
	for _, sr := range readers {
		if p := sr.problem(); p != "" {
			return g.fail("%s", p)
		}
		failed := ""
		if sr.fails > 0 {
			failed = fmt.Sprintf(" (%d refused, the first: %s)", sr.fails, sr.firstProblem)
		}
		r.Add("reads through "+filepath.Base(filepath.Dir(filepath.Dir(sr.path))), "%d, every one answered the file's content%s", sr.reads, failed)
	}
	return nil
}
