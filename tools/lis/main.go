package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// cliArgs are the arguments of this invocation as a verb and its flags;
// a daemonizing mount re-runs itself with them.
var cliArgs []string

// asMountHelper is set when mount(8) runs this binary as mount.fuse.lis:
// a helper says nothing on success.
var asMountHelper bool

func main() {
	argv0 := filepath.Base(os.Args[0])
	asMountHelper = strings.HasPrefix(argv0, "mount.")
	cliArgs = helperArgs(argv0, os.Args[1:])
	rootCmd.SetArgs(cliArgs)
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "lis:", err)
		os.Exit(exitCode(err))
	}
}

// helperArgs turns a mount(8) helper invocation ("mount.fuse.lis SOURCE
// DIR -o OPTS", or via the generic mount.fuse3 "lis SOURCE DIR -o OPTS"
// spelled as fuse.lis) into "mount SOURCE DIR -o OPTS".
func helperArgs(argv0 string, args []string) []string {
	if strings.HasPrefix(argv0, "mount.") {
		return append([]string{"mount"}, args...)
	}
	return args
}

// exitCode is 1 for a failure, but lis status says "in danger" with its own.
func exitCode(err error) int {
	if errors.Is(err, errInDanger) {
		return statusDangerExit
	}
	return 1
}
