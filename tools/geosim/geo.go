package geosim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// geo is a World running Lis: a metaservice on the first host, a
// dataserver on every host, mounts where a scenario asks.
type geo struct {
	*World
	env  Env
	Meta *Metaservice
	DS   map[string]*Dataserver // by host name
	Mnt  map[string]string      // by host name
}

// geoSpec says what startGeo builds.
type geoSpec struct {
	sites     []SiteSpec
	dsArgs    func(h *Host) []string // extra dataserver flags
	mountOn   []string               // host names
	mountOpts []string               // -o options of every mount
	home      string                 // Spec.Home
	metaArgs  []string               // extra metaservice flags
}

// startGeo builds and starts a geo; on error it removes what it made.
func startGeo(ctx context.Context, env Env, gs geoSpec) (g *geo, err error) {
	link := WAN
	link.Loss = env.Loss
	w, err := Build(ctx, Spec{Sites: gs.sites, Link: link, Lis: env.Lis, MTU: env.MTU, Home: gs.home})
	if err != nil {
		return nil, err
	}
	g = &geo{World: w, env: env, DS: map[string]*Dataserver{}, Mnt: map[string]string{}}
	w.KeepLogs = env.KeepLogs
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, g.logTails())
			g.Close()
		}
	}()
	if g.Meta, err = w.StartMetaservice(ctx, w.Sites[0].Hosts[0], append([]string{"--suspect-after", "5s"}, gs.metaArgs...)...); err != nil {
		return g, err
	}
	for _, s := range w.Sites {
		for _, h := range s.Hosts {
			var extra []string
			if gs.dsArgs != nil {
				extra = gs.dsArgs(h)
			}
			if g.DS[h.Name], err = w.StartDataserver(ctx, h, g.Meta, extra...); err != nil {
				return g, err
			}
		}
	}
	for _, name := range gs.mountOn {
		h := g.host(name)
		if h == nil {
			return g, fmt.Errorf("no host %s to mount on", name)
		}
		if g.Mnt[name], err = w.Mount(ctx, h, g.Meta, g.DS[name], gs.mountOpts...); err != nil {
			return g, err
		}
	}
	return g, nil
}

func (g *geo) host(name string) *Host {
	for _, s := range g.Sites {
		for _, h := range s.Hosts {
			if h.Name == name {
				return h
			}
		}
	}
	return nil
}

// logTails gathers the end of every daemon's log, for an error.
func (g *geo) logTails() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var s string
	for _, p := range g.procs {
		s += fmt.Sprintf("--- %s ---\n%s\n", p.Name, p.Tail(1500))
	}
	return s
}

// fail wraps a scenario's failed check with the daemons' logs.
func (g *geo) fail(format string, args ...any) error {
	return fmt.Errorf("%s\n%s", fmt.Sprintf(format, args...), g.logTails())
}

// setPolicy makes directory dir (created if need be) carry policy yaml.
func setPolicy(dir, yaml string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte(yaml), 0o644); err != nil {
		return fmt.Errorf("policy of %s: %w", dir, err)
	}
	return nil
}

// writeTiming is how long a sequential write and its fsync took.
type writeTiming struct{ write, fsync time.Duration }

// writeFile writes size random bytes (seeded) to path in 1 MiB writes,
// then fsyncs and closes it.
func writeFile(path string, size int64, seed uint64) (writeTiming, error) {
	f, err := os.Create(path)
	if err != nil {
		return writeTiming{}, err
	}
	defer f.Close()
	src := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	buf := make([]byte, 1<<20)
	start := time.Now()
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		src.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			return writeTiming{}, fmt.Errorf("write %s at %d: %w", path, off, err)
		}
	}
	var t writeTiming
	t.write = time.Since(start)
	if err := f.Sync(); err != nil {
		return t, fmt.Errorf("fsync %s: %w", path, err)
	}
	t.fsync = time.Since(start) - t.write
	return t, f.Close()
}

// copiesDiffer says how the copies of path's chunks fall short of want
// identical current copies each, or "" if none does.
func (g *geo) copiesDiffer(ctx context.Context, path string, want int) string {
	recs, err := g.Meta.Chunks(ctx, path)
	if err != nil {
		return err.Error()
	}
	if len(recs) == 0 {
		return "no chunks"
	}
	for _, rec := range recs {
		ids := Copies(rec.ChunkRecord)
		if len(ids) < want {
			return fmt.Sprintf("chunk %x placed on %v, want %d copies", rec.ID, ids, want)
		}
		if d := g.sameCopies(ctx, uint64(rec.ID), ids); d != "" {
			return d
		}
	}
	return ""
}

// sameCopies says how the copies of a chunk on ids differ, or "".
func (g *geo) sameCopies(ctx context.Context, chunk uint64, ids []string) string {
	var first []uint32
	var firstVer uint64
	for i, id := range ids {
		d, ok := g.DS[id]
		if !ok {
			return "unknown dataserver " + id
		}
		sum, err := d.c.Checksums(ctx, chunk)
		switch {
		case err != nil:
			return fmt.Sprintf("chunk %x on %s: %v", chunk, id, err)
		case !sum.Exists || sum.Resyncing:
			return fmt.Sprintf("chunk %x on %s: not there yet", chunk, id)
		case i == 0:
			first, firstVer = sum.CRCs, sum.Version
		case sum.Version != firstVer || !slices.Equal(sum.CRCs, first):
			return fmt.Sprintf("chunk %x on %s at version %d, on %s at %d", chunk, id, sum.Version, ids[0], firstVer)
		}
	}
	return ""
}

// waitCurrent waits until every chunk of path has want identical copies
// and returns how long that took.
func (g *geo) waitCurrent(ctx context.Context, path string, want int, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	last := ""
	err := waitFor(ctx, timeout, "copies of "+path+" current", func() bool {
		last = g.copiesDiffer(ctx, path, want)
		return last == ""
	})
	if err != nil {
		return 0, errors.Join(err, errors.New(last))
	}
	return time.Since(start), nil
}
