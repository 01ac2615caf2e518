package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	var meta string
	cmd := &cobra.Command{
		Use:   "fsck [PATH]",
		Short: "Check every invariant of a volume's namespace",
		Long: `Walk the namespace and check its invariants: nlink counts, dentries against
inodes, no orphans, chunk records against files, counters ahead of every id in
use. Each violation is reported with its path. Run it on a quiet volume:
changes made while it runs can show up as transient violations. The volume is
found from PATH's mount, or --meta, or the default embedded volume.`,
		Example: "  lis fsck /mnt/lis\n  lis fsck --meta unix:/var/lib/lis/meta.sock",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			c, err := dialMeta(meta, path)
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := c.Fsck(cmd.Context())
			if err != nil {
				return err
			}
			for _, v := range rep.Violations {
				fmt.Println(v.String())
			}
			fmt.Printf("%d directories, %d files, %d problems\n", rep.Dirs, rep.Files, len(rep.Violations))
			if len(rep.Violations) > 0 {
				return fmt.Errorf("fsck found %d problems", len(rep.Violations))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&meta, "meta", "", "metaservice address (default: from PATH's mount, or the default embedded volume)")
	rootCmd.AddCommand(cmd)
}
