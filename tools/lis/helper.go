package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func init() {
	var dir string
	var force bool
	cmd := &cobra.Command{
		Use:   "install-mount-helper",
		Short: "Install the mount.fuse.lis link so mount(8) and /etc/fstab can mount Lis",
		Long: `Create DIR/mount.fuse.lis, a symbolic link to this binary. mount(8) runs it
for filesystems of type fuse.lis, so that

  mount -t fuse.lis /var/lib/lis /mnt/lis -o allow_other

and the /etc/fstab line

  /var/lib/lis  /mnt/lis  fuse.lis  defaults,allow_other  0  0

mount the embedded volume kept in /var/lib/lis (see lis mount --help for the
options). Install lis first (go build -o /usr/local/bin/lis ./tools/lis): a
binary that go run built in the Go build cache, or one in a temporary
directory, is refused, since the link would soon point nowhere.`,
		Example: "  lis install-mount-helper\n  lis install-mount-helper --dir /usr/local/sbin",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			if exe, err = filepath.EvalSymlinks(exe); err != nil {
				return err
			}
			if !force {
				if err := stableBinary(exe); err != nil {
					return err
				}
			}
			link := filepath.Join(dir, "mount.fuse.lis")
			os.Remove(link)
			if err := os.Symlink(exe, link); err != nil {
				return fmt.Errorf("install mount helper: %w", err)
			}
			fmt.Printf("%s -> %s\n", link, exe)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "/sbin", "directory mount(8) looks for helpers in")
	cmd.Flags().BoolVar(&force, "force", false, "link even to a binary in a temporary directory or the Go build cache")
	rootCmd.AddCommand(cmd)
}

// stableBinary refuses to link the helper to a binary that will go away:
// one `go run` built into the Go build cache, or one in a temporary
// directory.
func stableBinary(exe string) error {
	var places []string
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		places = append(places, strings.TrimSpace(string(out)))
	}
	if d, err := os.UserCacheDir(); err == nil {
		places = append(places, filepath.Join(d, "go-build"))
	}
	places = append(places, os.TempDir(), "/tmp", "/var/tmp")
	for _, p := range places {
		if p == "" {
			continue
		}
		if rel, err := filepath.Rel(p, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%s is under %s and will not stay there (a go run build, or a temporary file): "+
				"install lis first (go build -o /usr/local/bin/lis ./tools/lis) and run that one's install-mount-helper", exe, p)
		}
	}
	return nil
}
