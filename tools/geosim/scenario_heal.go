package geosim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Scenario 8's timings: a dataserver silent for healLostAfter is lost.
const (
	healDownAfter = 10 * time.Second
	healLostAfter = 15 * time.Second
)

// healLost is scenario 8: four dataservers in three sites (two in
// london), files under three copies written in perth; london-1 is killed
// and its disk removed. Once it has been silent past --rereplicate-after,
// every chunk it held is copied again (to the other london host, the only
// dataserver that keeps the copies in three sites), identical to the
// others, and the lost copy leaves the records. Reported: the time to full redundancy from the
// kill, and the copy rate against the link.
func healLost(ctx context.Context, env Env, r *Report) error {
	sites := []SiteSpec{{"perth", "au", 1}, {"london", "eu", 2}, {"nyc", "us", 1}}
	g, err := startGeo(ctx, env, geoSpec{sites: sites, mountOn: []string{"perth-1"},
		metaArgs: []string{"--down-after", healDownAfter.String(), "--rereplicate-after", healLostAfter.String()}})
	if err != nil {
		return err
	}
	defer g.Close()
	files, err := writeHealFiles(ctx, g, env.Scale.HealBytes)
	if err != nil {
		return err
	}
	victim, err := londonHolder(ctx, g, files[0])
	if err != nil {
		return err
	}
	perth, london := g.Site("perth"), g.Site("london")
	before := g.LinkStats(perth, london).Bytes
	killed := time.Now()
	lost := g.DS[victim]
	lost.Proc.Kill()
	if err := os.RemoveAll(lost.Dir); err != nil {
		return err
	}
	for _, f := range files {
		if _, err := g.waitCurrent(ctx, f, 3, healLostAfter+10*time.Minute); err != nil {
			return g.fail("after %s was lost: %v", victim, err)
		}
	}
	took := time.Since(killed)
	moved := g.LinkStats(perth, london).Bytes - before
	copying := took - healLostAfter
	r.Add("full redundancy again", "%v after the kill (%v of silence before %s counts as lost, then %v of copying)",
		took.Round(100*time.Millisecond), healLostAfter, victim, copying.Round(100*time.Millisecond))
	r.Add("copied perth → london", "%s at %.0f Mbit/s over the copying (link 1,000 Mbit/s)", mib(moved), mbps(moved, copying))
	return healVerdict(ctx, g, files, victim, moved)
}

// londonHolder returns the london dataserver holding a copy of path.
func londonHolder(ctx context.Context, g *geo, path string) (string, error) {
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil || len(recs) == 0 {
		return "", fmt.Errorf("chunks of %s: %v", path, err)
	}
	for _, id := range Copies(recs[0].ChunkRecord) {
		if h := g.host(id); h != nil && h.Site.Name == "london" {
			return id, nil
		}
	}
	return "", g.fail("no london copy of %s", path)
}

// writeHealFiles writes size bytes in four files under three copies in
// perth and waits until every chunk has its three copies.
func writeHealFiles(ctx context.Context, g *geo, size int64) ([]string, error) {
	dir := filepath.Join(g.Mnt["perth-1"], "heal")
	if err := setPolicy(dir, policyLocalOnly); err != nil {
		return nil, err
	}
	var files []string
	for i := range 4 {
		f := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if _, err := writeFile(f, size/4, uint64(80+i)); err != nil {
			return nil, g.fail("%v", err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		if _, err := g.waitCurrent(ctx, f, 3, 10*time.Minute); err != nil {
			return nil, g.fail("before the loss: %v", err)
		}
	}
	return files, nil
}

// healVerdict checks that no record names the lost dataserver and that
// what crossed to london is about what it held.
func healVerdict(ctx context.Context, g *geo, files []string, victim string, moved int64) error {
	held := int64(0)
	for _, f := range files {
		recs, err := g.Meta.Chunks(ctx, f)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			for _, id := range Copies(rec.ChunkRecord) {
				if id == victim {
					return g.fail("chunk %x of %s still names the lost %s", rec.ID, f, victim)
				}
			}
			held += int64(rec.Blocks) * ms.DataBlockSize
		}
	}
	if moved > 2*held+64<<20 {
		return g.fail("%d bytes crossed to london to heal at most %d", moved, held)
	}
	return nil
}
