package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/metaservice/rpc"
)

// errInDanger makes lis status exit with statusDangerExit: the report was
// printed, and something in it is in danger.
var errInDanger = errors.New("something is in danger (see the warnings)")

// statusDangerExit is lis status's exit code when something is in danger;
// a failure to reach the metaservice exits 1.
const statusDangerExit = 2

// statusFlags are the flags of lis status and lis status chunks.
type statusFlags struct {
	meta, tlsDir string
	asJSON       bool
	watch        time.Duration
}

// dial connects to the metaservice for PATH (see metaAddr), with the
// --tls-dir identity when one is given; it returns the address too.
func (fl statusFlags) dial(path string) (*rpc.Client, credentials.TransportCredentials, string, error) {
	addr, err := metaAddr(fl.meta, path)
	if err != nil {
		return nil, nil, "", err
	}
	id, err := loadTLS(fl.tlsDir, "")
	if err != nil {
		return nil, nil, "", err
	}
	creds := clientCreds(id)
	c, err := rpc.Dial(addr, creds)
	if err != nil {
		return nil, nil, "", fmt.Errorf("metaservice %s: %w", addr, err)
	}
	return c, creds, addr, nil
}

func init() {
	var fl statusFlags
	cmd := &cobra.Command{
		Use:   "status [PATH]",
		Short: "Show the cluster at a glance: dataservers by site, replication lag, and what is not yet safe",
		Long: `Show the cluster: every dataserver by site and region (up, suspect or
down; capacity, free space, journal backlog, replication rate against its
limit, and how far each peer's copies of its chunks lag, in bytes and in
the age of the oldest change they lack), the metaservice and its engine,
and the mounted clients.

Then what is not yet safe:
  danger zones   files with data that exists on one dataserver only (not yet
                 replicated anywhere, or whose other copies are stale),
                 largest first, with a warning line per dataserver;
  below target   files with fewer current copies than their target_copies;
  lost           files whose only copy of some data is on a down dataserver.

The figures are what each dataserver counted at its last heartbeat (every
2 s, from one pass over its own chunks), read from the metaservice's
registry: a status call scans no chunks, and is at most a heartbeat plus
the time to print old. PATH (or a Lis mount holding it) chooses the
metaservice when --meta is not given.

Exit status: 0 when all is well, 2 when something is in danger, lost, below
target or a dataserver is down, 1 when the metaservice cannot be asked.`,
		Example: "  lis status --meta 127.0.0.1:7300\n  lis status /mnt/lis --json\n  lis status --watch 2s",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), fl, firstArg(args), os.Stdout)
		},
	}
	addStatusFlags(cmd, &fl)
	cmd.AddCommand(statusChunksCmd())
	rootCmd.AddCommand(cmd)
}

func addStatusFlags(cmd *cobra.Command, fl *statusFlags) {
	f := cmd.Flags()
	f.StringVar(&fl.meta, "meta", "", "metaservice address (default: that of the Lis mount holding PATH, else the default embedded volume's)")
	f.BoolVar(&fl.asJSON, "json", false, "print JSON (field names are stable; see the README)")
	f.StringVar(&fl.tlsDir, "tls-dir", "", "node directory (lis ca issue) to reach the metaservice and dataservers over TLS")
	f.DurationVar(&fl.watch, "watch", 0, "refresh in place every INTERVAL (e.g. 2s) until interrupted")
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// runStatus prints the status once, or every fl.watch until ctx ends.
func runStatus(ctx context.Context, fl statusFlags, path string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, _, addr, err := fl.dial(path)
	if err != nil {
		return err
	}
	defer c.Close()
	show := func() error {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := gatherStatus(cctx, c, addr)
		if err != nil {
			return err
		}
		if err := printStatus(w, r, fl.asJSON); err != nil {
			return err
		}
		if !r.Healthy {
			return errInDanger
		}
		return nil
	}
	return repeat(ctx, fl.watch, w, show)
}

// repeat runs show once and returns its result, or runs it every
// interval (clearing the terminal first) until interrupted, and returns
// nil.
func repeat(ctx context.Context, interval time.Duration, w io.Writer, show func() error) error {
	if interval <= 0 {
		return show()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	for {
		fmt.Fprint(w, "\033[H\033[2J")
		err := show()
		if err != nil && !errors.Is(err, errInDanger) {
			fmt.Fprintln(w, "lis status:", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func printStatus(w io.Writer, r *statusReport, asJSON bool) error {
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	return writeStatusText(w, r)
}
