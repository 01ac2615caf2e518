package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// bench is the state of one run, shared by the workloads.
type bench struct {
	cfg     Config
	work    string
	rep     *Report
	rss     *rssSampler
	tarball string // made once, on first use
	// progress counts operations of workloads that report them (for the
	// stall watchdog).
	progress atomic.Int64
	// txns is how many metadata transactions the last measure made on a
	// target that counts them (-1: not counted).
	txns float64
}

// Run mounts the three targets under cfg.Dir, runs the selected workloads
// on each and returns the report. A workload that fails on a target is
// noted in the report and the run goes on; the error returned joins those
// failures. The mounts are undone and the work directory removed (unless
// cfg.Keep) before Run returns.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	work, err := workDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	rep = newReport(cfg, work)
	b := &bench{cfg: cfg, work: work, rep: rep}
	unmounted := true
	defer func() {
		// Never remove the work directory through a mount left behind.
		if !cfg.Keep && unmounted {
			os.RemoveAll(work)
		} else {
			rep.Notes = append(rep.Notes, "work directory kept: "+work)
		}
	}()
	if cfg.LisBin == "" {
		if cfg.LisBin, err = buildLis(work); err != nil {
			return rep, err
		}
		b.cfg.LisBin = cfg.LisBin
	}
	targets, err := b.mountAll()
	defer func() {
		for i := len(targets) - 1; i >= 0; i-- {
			if cerr := targets[i].close(); cerr != nil {
				unmounted = false
				err = errors.Join(err, fmt.Errorf("unmount %s: %w", targets[i].name, cerr))
			}
		}
	}()
	if err != nil {
		return rep, err
	}
	lis := targets[len(targets)-1]
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	b.rss = startRSS(sctx, lis.pid)

	var errs []error
	for _, w := range workloads {
		if cfg.Only != nil && !cfg.Only[w.name] {
			continue
		}
		for _, t := range targets {
			if w.lisOnly && t != lis {
				continue
			}
			if ctx.Err() != nil {
				return rep, errors.Join(append(errs, ctx.Err())...)
			}
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, t.name)
			if t == lis {
				b.rss.reset()
			}
			if werr := b.runGuarded(ctx, w, t); werr != nil {
				werr = fmt.Errorf("%s on %s: %w", w.name, t.name, werr)
				rep.Notes = append(rep.Notes, "FAILED: "+clip(werr.Error()))
				errs = append(errs, werr)
			}
			if t == lis {
				peak, now := b.rss.reset()
				rep.Memory = append(rep.Memory, memRow{Phase: w.title, Peak: peak, End: now})
			}
		}
	}
	rep.HighWater = b.rss.highWater()
	rep.finish()
	return rep, errors.Join(errs...)
}

// clip keeps the first lines of a long message (tar prints one per file).
func clip(msg string) string {
	lines := strings.Split(msg, "\n")
	if len(lines) <= 4 {
		return strings.Join(lines, " / ")
	}
	return fmt.Sprintf("%s / … (%d more lines)", strings.Join(lines[:4], " / "), len(lines)-4)
}

func workDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("/var/tmp", "lis-bench-")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// runGuarded runs w on t under a watchdog: past cfg.Timeout, or after
// stallAfter without progress in a workload that reports progress, the
// target's FUSE connection is aborted so that the operations blocked in it
// fail and the run can go on (and report it).
func (b *bench) runGuarded(ctx context.Context, w workload, t *target) error {
	b.progress.Store(0)
	done := make(chan struct{})
	fired := make(chan string, 1)
	go func() {
		start, last, lastAt := time.Now(), int64(0), time.Now()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			p := b.progress.Load()
			if p != last {
				last, lastAt = p, time.Now()
			}
			var why string
			switch {
			case b.cfg.Timeout > 0 && time.Since(start) > b.cfg.Timeout:
				why = fmt.Sprintf("still running after --timeout %s", b.cfg.Timeout)
			case p > 0 && time.Since(lastAt) > stallAfter:
				why = fmt.Sprintf("no progress for %s after %d operations", stallAfter, p)
			default:
				continue
			}
			fired <- why
			if t.mnt != "" {
				if err := abortFuse(t.mnt); err != nil {
					fmt.Fprintf(os.Stderr, "bench: abort %s: %v\n", t.mnt, err)
				}
			}
			return
		}
	}()
	err := w.run(ctx, b, t)
	close(done)
	select {
	case why := <-fired:
		return fmt.Errorf("%s; its FUSE connection was aborted (%v)", why, err)
	default:
		return err
	}
}

// stallAfter is how long a progress-reporting workload may make none.
const stallAfter = time.Minute

// mountAll makes the raw directory, the loopback mount and the Lis mount,
// in that order (Lis last).
func (b *bench) mountAll() ([]*target, error) {
	var ts []*target
	raw, err := newRaw(b.work)
	if err != nil {
		return ts, err
	}
	ts = append(ts, raw)
	loop, err := newLoopback(b.work)
	if err != nil {
		return ts, err
	}
	ts = append(ts, loop)
	lis, err := newLis(b.work, b.cfg.LisBin, b.cfg.LisOpts)
	if err != nil {
		return ts, err
	}
	return append(ts, lis), nil
}

// measure times fn, the measured phase of a workload on t; for Lis with
// --profile, perf samples the daemon during it.
func (b *bench) measure(t *target, phase string, fn func() error) (time.Duration, error) {
	var rec *perfRecording
	if b.cfg.Profile != "" && t.name == lisName {
		var err error
		if rec, err = startPerf(b.cfg.Profile, phase, t.pid()); err != nil {
			return 0, err
		}
	}
	before := b.countTxns(t)
	start := time.Now()
	err := fn()
	d := time.Since(start)
	if after := b.countTxns(t); before >= 0 && after >= 0 {
		b.txns = after - before
	} else {
		b.txns = -1
	}
	if rec != nil {
		if perr := rec.stop(); perr != nil && err == nil {
			err = perr
		}
	}
	return d, err
}

// tarballPath tars cfg.TarSource once into the work directory.
func (b *bench) tarballPath() (string, error) {
	if b.tarball != "" {
		return b.tarball, nil
	}
	src := b.cfg.TarSource
	if src == "" {
		src = filepath.Join(goEnv("GOROOT"), "src")
	}
	p := filepath.Join(b.work, "source.tar")
	out, err := exec.Command("tar", "-C", filepath.Dir(src), "-cf", p, filepath.Base(src)).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tar %s: %v: %s", src, err, out)
	}
	b.tarball = p
	b.rep.TarSource = src
	return p, nil
}

// machine describes where the run happens, for the report.
func machine(work string) string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fsType, _ := exec.Command("findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", work).Output()
	return fmt.Sprintf("Linux %s, %d CPUs, %s; work dir %s (%s)", strings.TrimSpace(string(kernel)),
		runtime.NumCPU(), runtime.Version(), work, strings.TrimSpace(string(fsType)))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
