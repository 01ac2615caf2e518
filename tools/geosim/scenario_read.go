package geosim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// remoteRead is scenario 5: a file whose only copy is in perth, read in
// nyc twice: the first read crosses the world, the second is served from
// nyc's own cache of remote reads.
func remoteRead(ctx context.Context, env Env, r *Report) error {
	size := env.Scale.ReadBytes
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1", "nyc-1"},
		mountOpts: []string{fmt.Sprintf("read_cache=%d", 2*size>>20)}})
	if err != nil {
		return err
	}
	defer g.Close()
	if err := setPolicy(filepath.Join(g.Mnt["perth-1"], "far"), policySingleCopy); err != nil {
		return err
	}
	if _, err := writeFile(filepath.Join(g.Mnt["perth-1"], "far", "f"), size, 5); err != nil {
		return g.fail("%v", err)
	}
	_, want, err := readTimed(filepath.Join(g.Mnt["perth-1"], "far", "f"))
	if err != nil {
		return g.fail("read in perth: %v", err)
	}
	perth, nyc := g.Site("perth"), g.Site("nyc")
	far := filepath.Join(g.Mnt["nyc-1"], "far", "f")
	var took [2]time.Duration
	var crossed [2]int64
	for i := range took {
		dropCaches() // the kernel's page cache would hide what Lis does
		before := g.LinkStats(perth, nyc).Bytes
		var sum [32]byte
		took[i], sum, err = readTimed(far)
		if err != nil {
			return g.fail("read %d in nyc: %v", i+1, err)
		}
		if sum != want {
			return g.fail("read %d in nyc: content differs from perth's", i+1)
		}
		crossed[i] = g.LinkStats(perth, nyc).Bytes - before
	}
	r.Add("first read in nyc", "%s in %v (%.0f Mbit/s), %s crossed perth → nyc", mib(size), took[0].Round(time.Millisecond), mbps(size, took[0]), mib(crossed[0]))
	r.Add("second read in nyc", "%v (%.0f× faster), %d KiB crossed (metadata)", took[1].Round(time.Millisecond), float64(took[0])/float64(took[1]), crossed[1]>>10)
	if crossed[0] < size {
		return g.fail("the first read in nyc moved %d bytes from perth for a %d-byte file", crossed[0], size)
	}
	if crossed[1] > size/100 {
		return g.fail("the second read in nyc moved %d bytes from perth again: not served locally", crossed[1])
	}
	return nil
}

// readTimed reads the file at path in 1 MiB reads and returns how long
// that took and the content's SHA-256.
func readTimed(path string) (time.Duration, [32]byte, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return 0, [32]byte{}, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return time.Since(start), sum, nil
}

// dropCaches empties the kernel's page cache, so that a read reaches the
// filesystem.
func dropCaches() {
	_ = os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200)
}
