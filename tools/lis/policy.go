package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/replicaset"
)

func init() {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show and check replication policies (.lis-policy.yaml)",
		Long: `A directory's replication policy is the file .lis-policy.yaml in it: writing
and closing it sets the policy (a file that does not parse is refused with
EINVAL at close, and the previous policy stays), removing or renaming it
away clears it. A file or directory without one of its own follows its
nearest ancestor's, or the built-in default.`,
	}
	var meta string
	show := &cobra.Command{
		Use:     "show PATH",
		Short:   "Print the policy in force for PATH (on a Lis mount), the directory it comes from, and where the cluster cannot hold it",
		Example: "  lis policy show /mnt/lis/vms/disk.img",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st syscall.Stat_t
			if err := syscall.Stat(args[0], &st); err != nil {
				return fmt.Errorf("policy show: %w", err)
			}
			c, err := dialMeta(meta, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			ep, err := c.ResolvePolicy(cmd.Context(), ms.Ino(st.Ino))
			if err != nil {
				return err
			}
			fmt.Printf("%s: %s\n", args[0], ep.Policy)
			fmt.Printf("from: %s\n", policySource(args[0], ep.From))
			list, err := c.ListDataservers(cmd.Context())
			if err != nil {
				return err
			}
			for _, w := range append(replicaset.Shortfalls(ep.Policy, ms.Candidates(list)), ep.Policy.Unapplied()...) {
				fmt.Printf("warning: %s\n", w)
			}
			return nil
		},
	}
	show.Flags().StringVar(&meta, "meta", "", "metaservice address (default: the one serving PATH's mount)")
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a policy file without a mount: exit 0 and print the policy, or 1 and say what is wrong, on which line",
		Example: `  lis policy check .lis-policy.yaml
  echo 'target_copies: 0' | lis policy check -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readPolicyArg(args[0])
			if err != nil {
				return err
			}
			p, err := policy.Parse(src)
			if err != nil {
				return fmt.Errorf("%s%s", args[0], strings.TrimPrefix(err.Error(), policy.FileName))
			}
			fmt.Printf("%s: ok: %s\n", args[0], p)
			for _, w := range p.Unapplied() {
				fmt.Printf("warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.AddCommand(show, check)
	rootCmd.AddCommand(cmd)
}

// readPolicyArg reads the policy file name ("-": standard input), a
// byte more than a policy file may have at most, so Parse says it is too
// long.
func readPolicyArg(name string) ([]byte, error) {
	r := os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, policy.MaxFileSize+1))
}

// policySource names the directory a policy comes from: its path, found
// among path's ancestors on the mount, or the built-in default.
func policySource(path string, from ms.Ino) string {
	if from == 0 {
		return "the built-in default"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Sprintf("directory inode %d", from)
	}
	for d := abs; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if syscall.Stat(d, &st) == nil && ms.Ino(st.Ino) == from && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			return filepath.Join(d, ms.PolicyFileName)
		}
		if d == filepath.Dir(d) {
			return fmt.Sprintf("directory inode %d", from)
		}
	}
}
