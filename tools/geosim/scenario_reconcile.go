package geosim

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// reconcileGrace is how long after the heal a chunk may keep more copies
// than its target (the returning dataserver's stale one): the metaservice
// reclaims every 2 s, and the returning dataserver first heartbeats.
const reconcileGrace = 30 * time.Second

// partitionReconcile is scenario 11: the site holding the second copy of
// a file written in perth (two copies) is cut off past
// --rereplicate-after while perth overwrites the file; the copy is made
// again in the third site. Once the partition heals, the returning
// dataserver's stale copy leaves within reconcileGrace (no chunk keeps
// more than two copies, in the records or on the disks), and reads
// through a mount in the returning site return the current content from
// the heal on, never the stale copy. Reported: how long the copy took to
// be made elsewhere, and the stale copy to go.
func partitionReconcile(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1", "london-1", "nyc-1"}, metaArgs: faultMetaArgs})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "rec")
	if err := setPolicy(dir, policyTwoCopies); err != nil {
		return err
	}
	path := filepath.Join(dir, "f")
	if err := writeWhole(path, seededBytes(110, env.Scale.FaultBytes)); err != nil {
		return g.fail("%v", err)
	}
	if _, err := g.waitCurrent(ctx, path, 2, 5*time.Minute); err != nil {
		return g.fail("before the partition: %v", err)
	}
	away, err := secondCopy(ctx, g, path)
	if err != nil {
		return err
	}
	current := seededBytes(111, env.Scale.FaultBytes)
	if err := healElsewhere(ctx, g, r, path, away, current); err != nil {
		return err
	}
	return reconcileVerdict(ctx, g, r, path, away, current)
}

// secondCopy returns the dataserver other than perth's holding path.
func secondCopy(ctx context.Context, g *geo, path string) (*Dataserver, error) {
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil || len(recs) == 0 {
		return nil, g.fail("chunks of %s: %v", path, err)
	}
	for _, id := range Copies(recs[0].ChunkRecord) {
		if id != "perth-1" {
			return g.DS[id], nil
		}
	}
	return nil, g.fail("%s has no copy outside perth: %v", path, Copies(recs[0].ChunkRecord))
}

// healElsewhere cuts away's site off, overwrites the file in perth with
// current, and waits until its copies are current on perth and the third
// site; away's site stays cut off until then.
func healElsewhere(ctx context.Context, g *geo, r *Report, path string, away *Dataserver, current []byte) error {
	g.Isolate(away.Host.Site, true)
	defer g.Isolate(away.Host.Site, false)
	cut := time.Now()
	if err := overwriteSynced(path, current); err != nil {
		return g.fail("overwrite with %s cut off: %v", away.Host.Name, err)
	}
	last := ""
	err := waitFor(ctx, faultLostAfter+3*time.Minute, "the copy made elsewhere", func() bool {
		last = g.copiesDiffer(ctx, path, 2)
		return last == "" && !slices.Contains(g.recordCopies(ctx, path), away.Host.Name)
	})
	if err != nil {
		return g.fail("with %s cut off: %v (%s; copies %v)", away.Host.Name, err, last, g.recordCopies(ctx, path))
	}
	r.Add("copy made elsewhere", "%v after %s was cut off (lost after %v), on %v",
		time.Since(cut).Round(100*time.Millisecond), away.Host.Name, faultLostAfter, g.recordCopies(ctx, path))
	return nil
}

// overwriteSynced writes data over the start of the file at path, in
// place (the chunk stays the same), and fsyncs.
func overwriteSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// recordCopies names the copies of path's first chunk in its record.
func (g *geo) recordCopies(ctx context.Context, path string) []string {
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil || len(recs) == 0 {
		return nil
	}
	return Copies(recs[0].ChunkRecord)
}

// reconcileVerdict reads through away's mount from the heal on, and
// waits for the chunk to be back to two copies, in its record and on the
// disks.
func reconcileVerdict(ctx context.Context, g *geo, r *Report, path string, away *Dataserver, current []byte) error {
	healed := time.Now()
	sr := &steadyReader{path: filepath.Join(g.Mnt[away.Host.Name], "rec", "f"), want: current, failuresAllowed: true}
	rctx, stopReader := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sr.run(rctx) }()
	defer func() { stopReader(); wg.Wait() }()
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil {
		return g.fail("chunks of %s: %v", path, err)
	}
	chunk := uint64(recs[0].ID)
	var held []string
	err = waitFor(ctx, reconcileGrace, "two copies again after the heal", func() bool {
		held = g.chunkHolders(ctx, chunk)
		return len(held) <= 2 && len(g.recordCopies(ctx, path)) <= 2
	})
	if err != nil {
		return g.fail("%v: held by %v, recorded on %v", err, held, g.recordCopies(ctx, path))
	}
	r.Add("stale copy gone", "%v after the heal (grace %v); held by %v", time.Since(healed).Round(100*time.Millisecond), reconcileGrace, held)
	sleep(ctx, 5*time.Second) // reads go on after the reconciliation too
	stopReader()
	wg.Wait()
	if d := g.copiesDiffer(ctx, path, 2); d != "" {
		return g.fail("after the heal: %s", d)
	}
	return readersVerdict(g, r, []*steadyReader{sr})
}

// chunkHolders names the dataservers holding a copy of chunk on disk.
func (g *geo) chunkHolders(ctx context.Context, chunk uint64) []string {
	var out []string
	for name, d := range g.DS {
		if ok, err := holds(ctx, d, chunk); ok || err != nil { // unsure counts as held
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
