package geosim

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// metadataDistance is scenario 7: with the metaservice in perth, what
// stat, ls -l of a big directory, create and tar -x cost in london, in
// round trips. These are the baseline the client's metadata cache is
// measured against.
func metadataDistance(ctx context.Context, env Env, r *Report) error {
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:2], mountOn: []string{"perth-1", "london-1"}})
	if err != nil {
		return err
	}
	defer g.Close()
	n := env.Scale.Entries
	big := filepath.Join(g.Mnt["perth-1"], "big")
	if err := os.Mkdir(big, 0o755); err != nil {
		return err
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(big, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
			return g.fail("create in perth: %v", err)
		}
	}
	london := g.Mnt["london-1"]
	var errs []error
	timed := func(name string, f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return time.Since(start)
	}
	one := filepath.Join(london, "big", "f00000")
	stat1 := timed("stat", func() error { _, err := os.Stat(one); return err })
	stat2 := timed("stat again", func() error { _, err := os.Stat(one); return err })
	ls1 := timed("ls -l", func() error { return lsLong(filepath.Join(london, "big"), n) })
	ls2 := timed("ls -l again", func() error { return lsLong(filepath.Join(london, "big"), n) })
	create := timed("create", func() error { return os.WriteFile(filepath.Join(london, "new"), []byte("y"), 0o644) })
	files, tarball := smallTree(env.Scale.TarDirs)
	untar := timed("tar -x", func() error { return untarInto(ctx, tarball, london) })
	if len(errs) > 0 {
		return g.fail("%v", errs)
	}
	r.Add("stat from london", "%v (%.1f round trips); again at once %v", stat1.Round(time.Millisecond), rtts(stat1), stat2.Round(time.Millisecond))
	r.Add(fmt.Sprintf("ls -l of %d entries", n), "%v (%.1f round trips); again at once %v (%.1f)", ls1.Round(time.Millisecond), rtts(ls1), ls2.Round(time.Millisecond), rtts(ls2))
	r.Add("create from london", "%v (%.1f round trips)", create.Round(time.Millisecond), rtts(create))
	r.Add(fmt.Sprintf("tar -x of %d small files", files), "%v (%.1f round trips a file)", untar.Round(time.Millisecond), rtts(untar)/float64(files))
	return nil
}

// lsLong does what `ls -l` does: list the directory, then lstat each
// entry; it checks that want entries are there.
func lsLong(dir string, want int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) != want {
		return fmt.Errorf("%s lists %d entries, want %d", dir, len(entries), want)
	}
	for _, e := range entries {
		if _, err := os.Lstat(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// smallTree returns a tarball of dirs directories of 10 files of 1 KiB.
func smallTree(dirs int) (int, []byte) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := 0
	for d := range dirs {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("tree/d%d/", d), Typeflag: tar.TypeDir, Mode: 0o755})
		for f := range 10 {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("tree/d%d/f%d.c", d, f), Mode: 0o644, Size: 1024})
			tw.Write(bytes.Repeat([]byte{byte('a' + f)}, 1024))
			files++
		}
	}
	tw.Close()
	return files, buf.Bytes()
}

// untarInto runs `tar -x` of tarball in dir.
func untarInto(ctx context.Context, tarball []byte, dir string) error {
	cmd := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	cmd.Stdin = bytes.NewReader(tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
