package geosim

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// policyTwoCopies keeps two copies: one per site of scenarios 13 and 14.
const policyTwoCopies = "write_ack: local_only\nreplication: async_priority\ntarget_copies: 2\n"

// gcOrphans are the ids of the chunk files scenario 13 plants.
var gcOrphans = []uint64{0xdead01, 0xdead02}

// garbageCollect is scenario 13: chunk files no record refers to are
// planted on perth's dataserver while it is stopped (copies of a real
// chunk's files, so they still name london as their replica and spread
// there, as a returning dataserver's leftovers would). `lis gc --dry-run`
// run in perth lists exactly them, on both dataservers, and deletes
// nothing; a grace period keeps them while fresh; `lis gc` deletes them
// everywhere; the file of the volume is untouched. Reported: what was
// listed, and how long the deletion took.
func garbageCollect(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:2], mountOn: []string{"perth-1"}, metaArgs: faultMetaArgs})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "gc")
	if err := setPolicy(dir, policyTwoCopies); err != nil {
		return err
	}
	path, data := filepath.Join(dir, "f"), seededBytes(130, env.Scale.FaultBytes)
	if err := writeWhole(path, data); err != nil {
		return g.fail("%v", err)
	}
	if _, err := g.waitCurrent(ctx, path, 2, 5*time.Minute); err != nil {
		return g.fail("before planting: %v", err)
	}
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil {
		return g.fail("chunks of %s: %v", path, err)
	}
	chunk := uint64(recs[0].ID)
	if err := plantOrphans(ctx, g, g.DS["perth-1"], chunk); err != nil {
		return err
	}
	if err := collect(ctx, g, r); err != nil {
		return err
	}
	return gcVerdict(ctx, g, path, data, chunk)
}

// plantOrphans stops d, copies chunk's files under the ids of gcOrphans,
// starts d again and waits until the copies have spread to every
// dataserver.
func plantOrphans(ctx context.Context, g *geo, d *Dataserver, chunk uint64) error {
	if err := d.Proc.Stop(30 * time.Second); err != nil && !isExitFromSignal(err) {
		return g.fail("stop %s: %v", d.Host.Name, err)
	}
	for _, id := range gcOrphans {
		for _, ext := range []string{"dat", "meta"} {
			if err := copyFile(chunkFile(d.Dir, chunk, ext), chunkFile(d.Dir, id, ext)); err != nil {
				return g.fail("plant chunk %x: %v", id, err)
			}
		}
	}
	if err := g.Restart(ctx, d, g.Meta); err != nil {
		return g.fail("restart %s: %v", d.Host.Name, err)
	}
	err := waitFor(ctx, time.Minute, "the planted chunks on every dataserver", func() bool {
		return len(g.holders(ctx, gcOrphans)) == len(gcOrphans)*len(g.DS)
	})
	if err != nil {
		return g.fail("%v: held as %v", err, g.holders(ctx, gcOrphans))
	}
	return nil
}

// holders lists "DATASERVER CHUNK" for each copy of chunks held, sorted.
func (g *geo) holders(ctx context.Context, chunks []uint64) []string {
	var out []string
	for name, d := range g.DS {
		for _, id := range chunks {
			if ok, err := holds(ctx, d, id); ok || err != nil { // unsure counts as held
				out = append(out, fmt.Sprintf("%s %016x", name, id))
			}
		}
	}
	slices.Sort(out)
	return out
}

// gcListed matches a chunk line of lis gc's table.
var gcListed = regexp.MustCompile(`(?m)^(\S+)\s+([0-9a-f]{16})\s`)

// gc runs lis gc in the metaservice's host and returns the chunks it
// listed, as holders does.
func (g *geo) gc(ctx context.Context, args ...string) ([]string, string, error) {
	out, err := g.lisOutput(ctx, g.Meta.Host, 0, append([]string{"gc", "--meta", g.Meta.Addr}, args...)...)
	if err != nil {
		return nil, out, err
	}
	var listed []string
	for _, m := range gcListed.FindAllStringSubmatch(out, -1) {
		listed = append(listed, m[1]+" "+m[2])
	}
	slices.Sort(listed)
	return listed, out, nil
}

// collect runs the dry runs and the collection, checking each lists
// exactly the planted chunks (none within the grace period).
func collect(ctx context.Context, g *geo, r *Report) error {
	planted := g.holders(ctx, gcOrphans)
	if listed, out, err := g.gc(ctx, "--dry-run", "--grace", "1h"); err != nil || len(listed) > 0 {
		return g.fail("lis gc --dry-run --grace 1h must list nothing fresh (%v):\n%s", err, out)
	}
	for _, args := range [][]string{{"--dry-run", "--grace", "0s"}, {"--grace", "0s"}} {
		listed, out, err := g.gc(ctx, args...)
		if err != nil || !slices.Equal(listed, planted) {
			return g.fail("lis gc %s listed %v, want exactly the planted %v (%v):\n%s", strings.Join(args, " "), listed, planted, err, out)
		}
		if args[0] == "--dry-run" && !slices.Equal(g.holders(ctx, gcOrphans), planted) {
			return g.fail("a dry run deleted chunks: held now %v", g.holders(ctx, gcOrphans))
		}
	}
	r.Add("listed by lis gc --dry-run", "%d chunk copies, exactly those planted: %v", len(planted), planted)
	queued := time.Now()
	if err := waitFor(ctx, time.Minute, "the garbage deleted", func() bool { return len(g.holders(ctx, gcOrphans)) == 0 }); err != nil {
		return g.fail("%v: still held %v", err, g.holders(ctx, gcOrphans))
	}
	r.Add("deleted", "%v after lis gc queued them (the metaservice reclaims every 2 s)", time.Since(queued).Round(100*time.Millisecond))
	return nil
}

// gcVerdict checks that the file's chunk is whole on both dataservers and
// that the file reads as written.
func gcVerdict(ctx context.Context, g *geo, path string, data []byte, chunk uint64) error {
	if d := g.copiesDiffer(ctx, path, 2); d != "" {
		return g.fail("the referenced chunk %x after lis gc: %s", chunk, d)
	}
	got, err := readDirect(path)
	if err != nil {
		return g.fail("read after lis gc: %v", err)
	}
	if d := firstDifference(got, data); d != "" {
		return g.fail("%s after lis gc: %s", path, d)
	}
	if listed, out, err := g.gc(ctx, "--dry-run", "--grace", "0s"); err != nil || len(listed) > 0 {
		return g.fail("garbage left after lis gc (%v):\n%s", err, out)
	}
	return nil
}

// copyFile copies the file at src to dst, making dst's directory.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
