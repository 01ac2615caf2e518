package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func init() {
	var dir string
	cmd := &cobra.Command{
		Use:   "install-mount-helper",
		Short: "Install the mount.fuse.lis link so mount(8) and /etc/fstab can mount Lis",
		Long: `Create DIR/mount.fuse.lis, a symbolic link to this binary. mount(8) runs it
for filesystems of type fuse.lis, so that

  mount -t fuse.lis /var/lib/lis /mnt/lis -o allow_other

and the /etc/fstab line

  /var/lib/lis  /mnt/lis  fuse.lis  defaults,allow_other  0  0

mount the embedded volume kept in /var/lib/lis (see lis mount --help for the
options).`,
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
	rootCmd.AddCommand(cmd)
}
