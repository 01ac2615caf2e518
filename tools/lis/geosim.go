package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lis-fs/lis/tools/geosim"
)

func init() {
	cmd := &cobra.Command{
		Use:   "geosim",
		Short: "Run Lis across simulated sites 250 ms apart on this machine (root)",
		Long: `geosim makes sites and hosts as network namespaces on this machine, joined
by a user-space router that gives the links between sites their delay
(250 ms round trip), rate (1 Gbit/s each way), loss and partitions, and runs
Lis in them: a metaservice, a dataserver per host, mounts. Everything it makes
is named lisgeo-PID-... and is removed when it ends, on Ctrl-C too; what a
crashed run left is removed by the next one (or by 'lis geosim clean').

Scenarios prove and measure the geo behaviour: ` + scenarioNames() + `.`,
	}
	var env geosim.Env
	var full bool
	cmd.PersistentFlags().IntVar(&env.MTU, "mtu", geosim.DefaultMTU, "MTU of every simulated link")
	run := &cobra.Command{
		Use:     "run SCENARIO|all",
		Short:   "Run scenarios and print their reports",
		Example: "  lis geosim run all\n  lis geosim run replication --full",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env.Scale = geosim.Short
			if full {
				env.Scale = geosim.Full
			}
			return runScenarios(env, args[0])
		},
	}
	run.Flags().BoolVar(&full, "full", false, "full sizes (1 GiB writes, 60 s partitions, 1,000 entries): what the README reports")
	run.Flags().Float64Var(&env.Loss, "loss", 0, "packet loss on every link between sites (0.01 is 1 %)")
	run.Flags().StringVar(&env.KeepLogs, "logs", "", "copy the daemons' logs to this directory")
	var hosts int
	up := &cobra.Command{
		Use:   "up",
		Short: "Start perth, london and nyc with Lis mounted on every host, until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withGeosim(&env, func(ctx context.Context) error { return geosim.Up(ctx, env, hosts, os.Stdout) })
		},
	}
	up.Flags().IntVar(&hosts, "hosts", 1, "hosts per site")
	check := &cobra.Command{
		Use:   "check",
		Short: "Measure the router: round trip and TCP rate between two sites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withGeosim(&env, func(ctx context.Context) error { return geosim.Check(ctx, env, os.Stdout) })
		},
	}
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Remove what crashed geosim runs left (namespaces, processes, mounts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return geosim.CleanLeftovers(context.Background())
		},
	}
	cmd.AddCommand(run, up, check, clean)
	rootCmd.AddCommand(cmd)
}

func scenarioNames() string {
	var names []string
	for _, s := range geosim.Scenarios() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// withGeosim runs f with this binary as the hosts' lis and a context that
// ends on SIGINT or SIGTERM, so that f's World is torn down on Ctrl-C.
func withGeosim(env *geosim.Env, f func(ctx context.Context) error) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("geosim needs root: it makes network namespaces and TUN devices")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env.Lis = self
	env.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return f(ctx)
}

// runScenarios runs one scenario, or all, and prints each report; it
// fails if any scenario's checks failed.
func runScenarios(env geosim.Env, name string) error {
	list := geosim.Scenarios()
	if name != "all" {
		s, ok := geosim.Find(name)
		if !ok {
			return fmt.Errorf("no scenario %q (there are: %s)", name, scenarioNames())
		}
		list = []geosim.Scenario{s}
	}
	var failed []string
	err := withGeosim(&env, func(ctx context.Context) error {
		for _, s := range list {
			r := &geosim.Report{Title: fmt.Sprintf("%s (%s, %g %% loss)", s.Title, env.Scale.Name, 100*env.Loss)}
			err := s.Run(ctx, env, r)
			fmt.Print(r.String())
			if err != nil {
				fmt.Printf("  FAILED: %v\n", err)
				failed = append(failed, s.Name)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted")
			}
		}
		return nil
	})
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return err
}
