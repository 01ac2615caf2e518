package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	ms "github.com/lis-fs/lis/metaservice"
)

func init() {
	var meta string
	cmd := &cobra.Command{
		Use:   "shard",
		Short: "Create, list and place metadata shards",
		Long: `A shard is a subtree whose metadata lives in its own contiguous key range,
so that TiKV can split it off and lead it from the site that uses it.`,
	}
	cmd.PersistentFlags().StringVar(&meta, "meta", "", "metaservice address (default: the one serving the path's mount, or the default embedded volume)")

	create := &cobra.Command{
		Use:     "create PATH",
		Short:   "Make the empty directory PATH (on a Lis mount) the root of a new shard",
		Example: "  lis shard create /mnt/lis/perth",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st syscall.Stat_t
			if err := syscall.Stat(args[0], &st); err != nil {
				return fmt.Errorf("shard create %s: %w", args[0], err)
			}
			c, err := dialMeta(meta, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			rec, err := c.CreateShard(cmd.Context(), ms.Root, ms.Ino(st.Ino), args[0])
			if err != nil {
				return err
			}
			fmt.Printf("shard %d created at %s (%s in the volume, root inode %d)\n", rec.ID, args[0], rec.Path, rec.Root)
			return nil
		},
	}

	var asJSON, all bool
	list := &cobra.Command{
		Use:     "list",
		Short:   "List shards with their key ranges and inode counts",
		Example: "  lis shard list\n  lis shard list --all --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dialMeta(meta, "")
			if err != nil {
				return err
			}
			defer c.Close()
			shards, err := c.ListShards(cmd.Context())
			if err != nil {
				return err
			}
			if !all {
				shards = slices.DeleteFunc(shards, func(s ms.ShardInfo) bool { return s.Retired != 0 })
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(shards)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SHARD\tROOT\tPATH\tSITE\tINODES\tBYTES\tKEY RANGE")
			for _, s := range shards {
				fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%d\t%d\t[%s, %s)\n", s.ID, s.Root, shardWhere(s), s.Site,
					s.Inodes, s.Bytes, hex.EncodeToString(s.Start), hex.EncodeToString(s.End))
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.Flags().BoolVar(&all, "all", false, "also list retired shards (their root was removed; inodes renamed out of them keep their keys)")

	var group, label string
	var voters int
	placement := &cobra.Command{
		Use:   "placement",
		Short: "Print PD placement rules pinning each shard's leaders to its site",
		Long: `Print a PD rule bundle that puts the Raft leader and a majority of the voters
of every shard with a site (lis shard site) in that site, so metadata commits
there cost a local round trip. Apply it with
  pd-ctl config placement-rules rule-bundle save --in=rules.json`,
		Example: "  lis shard site 1 perth\n  lis shard placement --voters 3 > rules.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dialMeta(meta, "")
			if err != nil {
				return err
			}
			defer c.Close()
			out, err := c.PlacementRules(cmd.Context(), group, label, voters)
			if err != nil {
				return err
			}
			fmt.Println(string(out))
			return nil
		},
	}
	placement.Flags().StringVar(&group, "group", "lis", "PD rule group id")
	placement.Flags().StringVar(&label, "label", "site", "TiKV store label naming the site")
	placement.Flags().IntVar(&voters, "voters", 3, "voters per region")

	site := &cobra.Command{
		Use:     "site SHARD SITE",
		Short:   "Record the site a shard's metadata should be led from",
		Example: "  lis shard site 1 perth",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id uint16
			if _, err := fmt.Sscan(args[0], &id); err != nil {
				return fmt.Errorf("shard id %q: %w", args[0], err)
			}
			c, err := dialMeta(meta, "")
			if err != nil {
				return err
			}
			defer c.Close()
			return c.SetShardSite(cmd.Context(), ms.ShardID(id), args[1])
		},
	}
	cmd.AddCommand(create, list, placement, site)
	rootCmd.AddCommand(cmd)
}

// shardWhere is the PATH column of `lis shard list`: the root's path in
// the volume, or why there is none.
func shardWhere(s ms.ShardInfo) string {
	switch {
	case s.Retired != 0:
		return fmt.Sprintf("(removed; made at %s)", s.Path)
	case s.Where == "":
		return fmt.Sprintf("(root missing: run lis fsck; made at %s)", s.Path)
	}
	return s.Where
}
