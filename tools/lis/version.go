package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() {
	rootCmd.Version = versionString()
	rootCmd.SetVersionTemplate("lis {{.Version}}\n")
	rootCmd.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "Print the version and the commit lis was built from",
		Example: "  lis version\n  lis --version",
		Args:    cobra.NoArgs,
		Run:     func(*cobra.Command, []string) { fmt.Printf("lis %s\n", versionString()) },
	})
}

// versionString is the module version and the commit (with its time, and
// "+modified" for a dirty tree) that the Go toolchain stamped the binary
// with, and the toolchain.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information) " + runtime.Version()
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := info.Main.Version
	if rev := settings["vcs.revision"]; rev != "" {
		v += " commit " + rev[:min(12, len(rev))]
		if t := settings["vcs.time"]; t != "" {
			v += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			v += "+modified"
		}
	}
	return v + " " + runtime.Version()
}
