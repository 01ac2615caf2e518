// Command run-upstream runs an installed upstream pjdfstest against a
// fresh Lis volume and prints prove's summary.
//
// Usage (as root):
//
//	LIS_PJDFSTEST_DIR=/path/to/pjdfstest go run ./pjdfstest/cmd/run-upstream [-v] [TESTS...]
//
// TESTS are paths under the checkout's tests directory ("chmod",
// "rename/00.t"); none means all. The checkout must be built
// (`autoreconf -ifs && ./configure && make`). The exit status is 0 when
// every test passed, 1 when some failed, 2 when the run could not be made.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lis-fs/lis/fs"
	"github.com/lis-fs/lis/pjdfstest"
)

func main() {
	dir := flag.String("dir", os.Getenv(pjdfstest.UpstreamEnv), "built upstream pjdfstest checkout (default $"+pjdfstest.UpstreamEnv+")")
	work := flag.String("work", "", "directory for the volume's data and mount point (default: a temporary one, removed)")
	verbose := flag.Bool("v", false, "print prove's full output as it runs, not only the summary")
	writeback := flag.Bool("writeback", false, "mount with the kernel's writeback cache (lis mount -o writeback_cache)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [TESTS...]\n\n", os.Args[0])
		fmt.Fprintf(flag.CommandLine.Output(), "Runs upstream pjdfstest with prove on a fresh Lis volume.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	// The volume's informational logs would bury prove's summary.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var out io.Writer
	if *verbose {
		out = os.Stdout
	}
	sum, err := pjdfstest.RunUpstream(ctx, pjdfstest.UpstreamConfig{
		Dir: *dir, Tests: flag.Args(), WorkDir: *work, Out: out,
		FS: fs.Options{WritebackCache: *writeback},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "run-upstream: %v\n", err)
		os.Exit(2)
	}
	if !*verbose { // prove's output already ended with the summary
		fmt.Print(sum.Report)
	}
	if !sum.Passed {
		os.Exit(1)
	}
}
