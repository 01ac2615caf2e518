package metaservice

import (
	"strings"
	"syscall"
)

// MaxNameLen is the longest file name, in bytes, as on ext4 and XFS.
const MaxNameLen = 255

// MaxSymlinkLen is the longest symlink target (PATH_MAX).
const MaxSymlinkLen = 4096

// checkName validates a name about to be created or looked up.
// CheckName says what is wrong with a name to look up, if anything: a
// client that answers lookups from its cache refuses the same names.
func CheckName(name string) error { return checkName(name) }

func checkName(name string) error {
	switch {
	case name == "":
		return errnof(syscall.ENOENT, "empty name")
	case len(name) > MaxNameLen:
		return errnof(syscall.ENAMETOOLONG, "name of %d bytes (limit %d)", len(name), MaxNameLen)
	case strings.ContainsAny(name, "/\x00"):
		return errnof(syscall.EINVAL, "name %q contains '/' or NUL", name)
	}
	return nil
}

// checkNewName also refuses the names "." and "..", which exist in every
// directory without a dentry.
func checkNewName(name string) error {
	if name == "." || name == ".." {
		return errnof(syscall.EEXIST, "name %q", name)
	}
	return checkName(name)
}
