package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// workload is one benchmark, run on each target in turn.
type workload struct {
	name    string // for --only
	title   string // for the memory table
	lisOnly bool   // a memory check of the Lis client, not a comparison
	run     func(ctx context.Context, b *bench, t *target) error
}

var workloads = []workload{
	{name: "seqwrite", title: "sequential write + fsync", run: seqWrite},
	{name: "seqread", title: "sequential read, cold", run: seqRead},
	{name: "randwrite", title: "4 KiB random write + fsync", run: randWrite},
	{name: "smallfiles", title: "create/stat/unlink small files", run: smallFiles},
	{name: "tar", title: "tar -x", run: tarExtract},
	{name: "many", title: "then stat of 10,000 of its files", lisOnly: true, run: manyFiles},
}

func workloadNames() []string {
	var n []string
	for _, w := range workloads {
		n = append(n, w.name)
	}
	return n
}

const mb = 1e6

// pattern is incompressible data to write.
func pattern(n int) []byte {
	buf := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	return buf
}

// writeFile writes size bytes of pattern to p and fsyncs it.
func writeFile(ctx context.Context, p string, size int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := pattern(1 << 20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(len(buf)), size-off)
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	return f.Close()
}

func seqWrite(ctx context.Context, b *bench, t *target) error {
	p := filepath.Join(t.dir, "seq.dat")
	d, err := b.measure(t, "seqwrite", func() error { return writeFile(ctx, p, b.cfg.SeqSize) })
	if err != nil {
		return err
	}
	b.rep.record(mSeqWrite, t.name, float64(b.cfg.SeqSize)/mb/d.Seconds())
	return nil
}

func seqRead(ctx context.Context, b *bench, t *target) error {
	p := filepath.Join(t.dir, "seq.dat")
	if st, err := os.Stat(p); err != nil || st.Size() != b.cfg.SeqSize {
		if err := writeFile(ctx, p, b.cfg.SeqSize); err != nil {
			return err
		}
	}
	if err := t.cold(ctx); err != nil {
		return err
	}
	var n int64
	d, err := b.measure(t, "seqread", func() error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		buf := make([]byte, 1<<20)
		for {
			k, err := f.Read(buf)
			n += int64(k)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return err
	}
	if n != b.cfg.SeqSize {
		return fmt.Errorf("read %d bytes of a %d-byte file", n, b.cfg.SeqSize)
	}
	b.rep.record(mSeqRead, t.name, float64(n)/mb/d.Seconds())
	return os.Remove(p)
}

func randWrite(ctx context.Context, b *bench, t *target) error {
	p := filepath.Join(t.dir, "rand.dat")
	if err := writeFile(ctx, p, b.cfg.RandFile); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	blocks := b.cfg.RandFile / 4096
	r := rand.New(rand.NewPCG(3, 4))
	buf := pattern(4096)
	d, err := b.measure(t, "randwrite", func() error {
		for i := 0; i < b.cfg.RandWrites; i++ {
			if _, err := f.WriteAt(buf, r.Int64N(blocks)*4096); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				return fmt.Errorf("fsync: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.rep.record(mRandWrite, t.name, float64(b.cfg.RandWrites)/d.Seconds())
	if err := f.Close(); err != nil {
		return err
	}
	return os.Remove(p)
}

// smallFiles creates, stats and unlinks cfg.SmallFiles files of
// cfg.SmallSize bytes in one directory, one at a time. Between create and
// stat it waits out the 1 s attribute and entry timeouts both FUSE mounts
// use, so every stat asks the file system rather than the kernel's cache.
func smallFiles(ctx context.Context, b *bench, t *target) error {
	dir := filepath.Join(t.dir, "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, b.cfg.SmallFiles)
	for i := range names {
		names[i] = filepath.Join(dir, fmt.Sprintf("file-%06d", i))
	}
	content := pattern(b.cfg.SmallSize)
	phases := []struct {
		m  string
		op func(p string) error
	}{
		{mCreate, func(p string) error {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			if _, err := f.Write(content); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}},
		{mStat, func(p string) error { _, err := os.Lstat(p); return err }},
		{mUnlink, os.Remove},
	}
	for i, ph := range phases {
		if i == 1 {
			time.Sleep(1100 * time.Millisecond)
		}
		d, err := b.measure(t, "smallfiles-"+ph.m, func() error {
			for _, p := range names {
				if err := ph.op(p); err != nil {
					return err
				}
			}
			return ctx.Err()
		})
		if err != nil {
			return fmt.Errorf("%s: %w", ph.m, err)
		}
		b.rep.record(ph.m, t.name, float64(len(names))/d.Seconds())
		if t.name == lisName {
			b.recordTxns(ph.m, len(names))
		}
	}
	return os.Remove(dir)
}

func tarExtract(ctx context.Context, b *bench, t *target) error {
	tarball, err := b.tarballPath()
	if err != nil {
		return err
	}
	dir := filepath.Join(t.dir, "tar")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	d, err := b.measure(t, "tar", func() error {
		out, err := exec.CommandContext(ctx, "tar", "-C", dir, "-xf", tarball).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tar -x: %v: %s", err, out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.rep.record(mTar, t.name, d.Seconds())
	if t.name == lisName {
		n, err := countTree(dir)
		if err != nil {
			return err
		}
		b.recordTxns(mTar, n)
	}
	return nil
}

// countTree counts the files and directories under dir.
func countTree(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, _ fs.DirEntry, err error) error {
		n++
		return err
	})
	return n - 1, err // dir itself is not an entry of the archive
}
