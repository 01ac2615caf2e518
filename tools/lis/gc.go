package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// gcFlags are the flags of lis gc.
type gcFlags struct {
	statusFlags
	dryRun bool
	grace  time.Duration
}

// gcBatch bounds the chunk ids one GarbageChunks call carries.
const gcBatch = 100_000

func init() {
	var fl gcFlags
	cmd := &cobra.Command{
		Use:   "gc [--dry-run] [--grace DURATION]",
		Short: "Find, and delete, chunk files on the dataservers that no file refers to",
		Long: `Garbage-collect the chunks on every live dataserver that no chunk record
names as a copy there: leftovers of crashed creates, of copies dropped while
their dataserver was away, of deletions that never arrived. Only chunks that
have not changed for --grace (1 h) are considered, so that a copy whose record
is being written is never taken. With --dry-run it lists them and touches
nothing; without, it queues their deletion, which the metaservice carries out
within seconds (and on a dataserver that is away, once it is back).`,
		Example: "  lis gc --dry-run --meta 127.0.0.1:7300\n  lis gc --grace 24h",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runGC(cmd.Context(), fl, os.Stdout) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.meta, "meta", "", "metaservice address (default: the default embedded volume's)")
	f.StringVar(&fl.tlsDir, "tls-dir", "", "node directory (lis ca issue) to reach the metaservice and dataservers over TLS")
	f.BoolVar(&fl.dryRun, "dry-run", false, "list the garbage chunks, delete nothing")
	f.DurationVar(&fl.grace, "grace", time.Hour, "consider only chunks unchanged for this long")
	rootCmd.AddCommand(cmd)
}

// garbage is one dataserver's garbage chunks.
type garbage struct {
	dataserver string
	chunks     []dataserver.HeldChunk
}

func runGC(ctx context.Context, fl gcFlags, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, creds, _, err := fl.dial("")
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.ListDataservers(ctx)
	if err != nil {
		return err
	}
	var found []garbage
	for _, d := range list {
		if d.Liveness != registry.Up {
			fmt.Fprintf(w, "%s is %s: skipped\n", d.ID, d.Liveness)
			continue
		}
		g, err := gcDataserver(ctx, c, creds, d.ID, d.Addr, fl)
		if err != nil {
			return fmt.Errorf("dataserver %s: %w", d.ID, err)
		}
		found = append(found, g)
	}
	return printGarbage(w, found, fl.dryRun)
}

// gcDataserver finds (and, unless dry-run, collects) ds's garbage.
func gcDataserver(ctx context.Context, c *rpc.Client, creds credentials.TransportCredentials, id, addr string, fl gcFlags) (garbage, error) {
	dc, err := dataserver.DialCreds(addr, creds)
	if err != nil {
		return garbage{}, err
	}
	defer dc.Close()
	held, err := dc.ListChunks(ctx)
	if err != nil {
		return garbage{}, err
	}
	old := map[uint64]dataserver.HeldChunk{}
	var ids []uint64
	for _, h := range held.Chunks {
		if time.Since(time.Unix(0, h.Changed)) >= fl.grace {
			old[h.ID] = h
			ids = append(ids, h.ID)
		}
	}
	g := garbage{dataserver: id}
	for batch := range slices.Chunk(ids, gcBatch) {
		out, err := c.GarbageChunks(ctx, id, batch, !fl.dryRun)
		if err != nil {
			return garbage{}, err
		}
		for _, chunk := range out {
			g.chunks = append(g.chunks, old[chunk])
		}
	}
	return g, nil
}

func printGarbage(out io.Writer, found []garbage, dryRun bool) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DATASERVER\tCHUNK\tVERSION\tSIZE\tUNCHANGED FOR")
	n, bytes := 0, int64(0)
	for _, g := range found {
		for _, h := range g.chunks {
			fmt.Fprintf(w, "%s\t%016x\t%d\t%s\t%s\n", g.dataserver, h.ID, h.Version, bytesIEC(h.Size),
				ageText(time.Since(time.Unix(0, h.Changed)).Seconds()))
			n, bytes = n+1, bytes+h.Size
		}
	}
	verb := "queued for deletion"
	if dryRun {
		verb = "would be deleted (dry run: nothing was)"
	}
	fmt.Fprintf(w, "%d garbage chunk(s), %s, %s\n", n, bytesIEC(bytes), verb)
	return w.Flush()
}
