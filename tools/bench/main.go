package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg)
	if rep != nil {
		rep.Command = "go run ./tools/bench " + strings.Join(os.Args[1:], " ")
		rep.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Config is one benchmark run.
type Config struct {
	Dir        string // work directory; every target lives under it
	SeqSize    int64  // bytes of the sequential write/read file
	RandFile   int64  // size of the file the random writes land in
	RandWrites int    // number of fsynced 4 KiB random writes
	SmallFiles int    // files created, stat'ed, unlinked
	SmallSize  int    // bytes written to each small file
	TarSource  string // directory tarred once and extracted on each target
	ManyFiles  int    // files in the one big directory (Lis only)
	Workers    int    // parallel creators for the big directory
	Only       map[string]bool
	LisBin     string // the lis binary; built from the module when empty
	LisOpts    string // -o options for the Lis mount
	Profile    string // directory for perf profiles of the Lis daemon
	Keep       bool   // keep the work directory
	// Timeout bounds one workload on one target; past it the target's
	// FUSE connection is aborted.
	Timeout time.Duration
}

func parseFlags(args []string) (Config, error) {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	var c Config
	var size, randFile, only string
	quick := fl.Bool("quick", false, "small sizes for a quick look (overrides the size defaults, not explicit flags)")
	fl.StringVar(&c.Dir, "dir", "", "work directory (default: a new directory under /var/tmp)")
	fl.StringVar(&size, "size", "1GiB", "sequential write/read size")
	fl.StringVar(&randFile, "rand-file", "256MiB", "file size the random writes land in")
	fl.IntVar(&c.RandWrites, "rand-writes", 3000, "number of fsynced 4 KiB random writes")
	fl.IntVar(&c.SmallFiles, "files", 10000, "small files to create, stat and unlink")
	fl.IntVar(&c.SmallSize, "file-size", 1024, "bytes written into each small file")
	fl.StringVar(&c.TarSource, "tar-src", "", "directory to tar and extract (default: $(go env GOROOT)/src)")
	fl.IntVar(&c.ManyFiles, "many", 1000000, "files in one directory for the memory check (0 skips it)")
	fl.IntVar(&c.Workers, "workers", 16, "parallel creators for --many")
	fl.StringVar(&only, "only", "", "comma-separated workloads to run: "+strings.Join(workloadNames(), ","))
	fl.StringVar(&c.LisBin, "lis", "", "lis binary (default: go build ./tools/lis)")
	fl.StringVar(&c.LisOpts, "lis-opts", "", "-o options for the Lis mount (e.g. nowriteback_cache)")
	fl.StringVar(&c.Profile, "profile", "", "record the Lis daemon with perf into this directory")
	fl.BoolVar(&c.Keep, "keep", false, "keep the work directory")
	fl.DurationVar(&c.Timeout, "timeout", 20*time.Minute, "longest one workload may run on one target")
	if err := fl.Parse(args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		quickDefaults(&c, set, &size, &randFile)
	}
	var err error
	if c.SeqSize, err = parseSize(size); err != nil {
		return c, fmt.Errorf("--size: %w", err)
	}
	if c.RandFile, err = parseSize(randFile); err != nil {
		return c, fmt.Errorf("--rand-file: %w", err)
	}
	if only != "" {
		c.Only = map[string]bool{}
		for _, w := range strings.Split(only, ",") {
			if !contains(workloadNames(), w) {
				return c, fmt.Errorf("--only: unknown workload %q (have %s)", w, strings.Join(workloadNames(), ", "))
			}
			c.Only[w] = true
		}
	}
	if c.Profile != "" {
		if c.Profile, err = filepath.Abs(c.Profile); err != nil {
			return c, err
		}
	}
	return c, nil
}

// quickDefaults shrinks every size the command line did not set.
func quickDefaults(c *Config, set map[string]bool, size, randFile *string) {
	if !set["size"] {
		*size = "128MiB"
	}
	if !set["rand-file"] {
		*randFile = "32MiB"
	}
	if !set["rand-writes"] {
		c.RandWrites = 500
	}
	if !set["files"] {
		c.SmallFiles = 2000
	}
	if !set["many"] {
		c.ManyFiles = 20000
	}
	if !set["tar-src"] {
		c.TarSource = filepath.Join(goEnv("GOROOT"), "src", "net")
	}
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			var n int64
			if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("bad size %q", s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
