package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func init() {
	var meta string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dataservers",
		Short: "List the dataservers registered with the metaservice, by site, with liveness and free space",
		Long: `List the volume's dataserver registry: every dataserver that registered
(lis dataserver --meta), where it listens, its site and region, whether it is
up, suspect or down by the age of its last heartbeat (lis metaservice
--suspect-after, --down-after), its capacity and free space, its journal
backlog and how many chunk copies on its peers lag behind it.`,
		Example: "  lis dataservers --meta 127.0.0.1:7300\n  lis dataservers --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dialMeta(meta, "")
			if err != nil {
				return err
			}
			defer c.Close()
			ds, err := c.ListDataservers(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(ds)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSITE\tREGION\tADDRESS\tSTATE\tLAST HEARTBEAT\tCAPACITY\tFREE\tJOURNAL\tBEHIND")
			for _, d := range ds {
				age := time.Since(time.Unix(0, d.LastBeat)).Round(100 * time.Millisecond)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s ago\t%s\t%s\t%s\t%d\n", d.ID, d.Site, d.Region, d.Addr,
					d.Liveness, age, bytesIEC(d.Capacity), bytesIEC(d.Free), bytesIEC(d.JournalBytes), d.Behind)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&meta, "meta", "", "metaservice address (default: the default embedded volume's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	rootCmd.AddCommand(cmd)
}

// bytesIEC formats n bytes with a binary unit (KiB, MiB, ...).
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
