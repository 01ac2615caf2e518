// Command lis is the one binary of Lis: every daemon (metaservice,
// dataserver, the FUSE client) and every administrative verb. Each verb
// lives in its own file and registers itself on rootCmd from init.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "lis",
	Short: "Lis: a geo-distributed POSIX filesystem",
	Long: `Lis is a POSIX filesystem for hosts spread over far-apart sites. Writes are
acknowledged by the local dataserver at local-disk latency and copied to other
sites in the background, as each directory's replication policy asks.
Metadata lives in TiKV (or an embedded engine on one machine), sharded per
subtree.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "lis:", err)
		os.Exit(1)
	}
}
