package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// manyFiles fills one directory with cfg.ManyFiles empty files (parallel
// workers, open(O_CREAT)+close each), then lists it and stats a sample,
// reporting the rates and the Lis daemon's memory after each step. It is
// the "RSS while a directory holds 1,000,000 files" check.
func manyFiles(ctx context.Context, b *bench, t *target) error {
	dir := filepath.Join(t.dir, "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	n := b.cfg.ManyFiles
	name := func(i int) string { return filepath.Join(dir, fmt.Sprintf("f%07d", i)) }

	d, err := b.measure(t, "many-create", func() error { return createParallel(ctx, n, b.cfg.Workers, name, &b.progress) })
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	b.rep.record(mManyCreate, t.name, float64(n)/d.Seconds())
	b.rep.ManyCreateTime = d
	b.memoryRow(fmt.Sprintf("after creating %d files in one directory", n))

	var listed int
	d, err = b.measure(t, "many-readdir", func() (err error) { listed, err = countEntries(dir); return err })
	if err != nil {
		return fmt.Errorf("readdir: %w", err)
	}
	if listed != n {
		return fmt.Errorf("readdir listed %d entries, want %d", listed, n)
	}
	b.rep.record(mManyList, t.name, float64(n)/d.Seconds())
	b.memoryRow(fmt.Sprintf("after listing the %d-file directory", n))

	sample := min(n, 10000)
	r := rand.New(rand.NewPCG(5, 6))
	d, err = b.measure(t, "many-stat", func() error {
		for i := 0; i < sample; i++ {
			if _, err := os.Lstat(name(r.IntN(n))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	b.rep.record(mManyStat, t.name, float64(sample)/d.Seconds())
	return nil
}

// createParallel creates files 0..n-1 with workers goroutines, counting
// them in done and printing progress every ten seconds.
func createParallel(ctx context.Context, n, workers int, name func(int) string, done *atomic.Int64) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	stop := make(chan struct{})
	go progress(stop, done, n)
	defer close(stop)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fd, err := syscall.Open(name(i), syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
				if err != nil {
					errc <- fmt.Errorf("create %s: %w", name(i), err)
					return
				}
				syscall.Close(fd)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}

func progress(stop <-chan struct{}, done *atomic.Int64, n int) {
	start := time.Now()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			k := done.Load()
			fmt.Fprintf(os.Stderr, "bench: %d/%d files, %.0f/s\n", k, n, float64(k)/time.Since(start).Seconds())
		}
	}
}

// countEntries lists dir in batches, as ls -f would.
func countEntries(dir string) (int, error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	total := 0
	for {
		names, err := f.Readdirnames(8192)
		total += len(names)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// memoryRow records the Lis daemon's memory at a point inside a workload.
func (b *bench) memoryRow(phase string) {
	peak, now := b.rss.reset()
	b.rep.Memory = append(b.rep.Memory, memRow{Phase: phase, Peak: peak, End: now})
}
