package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lis-fs/lis/fs"
)

// mountConfig is everything `lis mount` was asked for, from flags and -o
// options alike.
type mountConfig struct {
	dataDir    string // embedded volume's data directory
	meta       string // metaservice address, for a cluster client
	dataserver string // co-located dataserver address, for a cluster client
	tlsDir     string // node directory of the cluster's TLS, for a cluster client
	foreground bool
	debugAddr  string // loopback address for /metrics and /debug/pprof
	fs         fs.Options
	writeback  *bool // nil: the mode's default
	// noAllowOther keeps a root mount to root (allow_other is the
	// default when root mounts).
	noAllowOther bool
}

// volumeName says which volume a mount serves, for messages.
func (mc *mountConfig) volumeName() string {
	if mc.meta != "" {
		return "the volume of metaservice " + mc.meta
	}
	return "the embedded volume in " + mc.dataDir
}

// defaultDataDir is where the embedded volume lives when --data-dir is not
// given: /var/lib/lis for root, the XDG data directory otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/lis"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "lis")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "lis")
}

// ignoredMountOptions are generic mount(8) options that mean nothing to
// a FUSE filesystem's daemon (the kernel or mount(8) handles them).
var ignoredMountOptions = map[string]bool{
	"defaults": true, "rw": true, "dev": true, "nodev": true, "suid": true, "nosuid": true,
	"exec": true, "noexec": true, "auto": true, "noauto": true, "user": true, "nouser": true,
	"users": true, "_netdev": true, "nofail": true, "default_permissions": true, "async": true,
	"atime": true, "noatime": true, "relatime": true, "strictatime": true,
}

// parseMountOptions applies a comma-separated -o string.
func parseMountOptions(opts string, mc *mountConfig) error {
	for _, o := range strings.Split(opts, ",") {
		if o == "" || ignoredMountOptions[o] || strings.HasPrefix(o, "x-") || strings.HasPrefix(o, "comment=") {
			continue
		}
		key, val, hasVal := strings.Cut(o, "=")
		if err := applyMountOption(mc, key, val, hasVal); err != nil {
			return fmt.Errorf("mount option %q: %w", o, err)
		}
	}
	return nil
}

func applyMountOption(mc *mountConfig, key, val string, hasVal bool) error {
	needVal := func() error {
		if !hasVal || val == "" {
			return fmt.Errorf("needs a value")
		}
		return nil
	}
	switch key {
	case "ro":
		mc.fs.ReadOnly = true
	case "allow_other":
		mc.fs.AllowOther = true
	case "noallow_other":
		mc.fs.AllowOther, mc.noAllowOther = false, true
	case "debug":
		mc.fs.Debug = true
	case "writeback_cache", "nowriteback_cache":
		on := key == "writeback_cache"
		mc.writeback = &on
	case "attr_timeout", "entry_timeout", "negative_timeout", "ack_timeout", "cache_timeout":
		if err := needVal(); err != nil {
			return err
		}
		d, err := parseSeconds(val)
		if err != nil {
			return err
		}
		*map[string]*time.Duration{"attr_timeout": &mc.fs.AttrTimeout, "entry_timeout": &mc.fs.EntryTimeout,
			"negative_timeout": &mc.fs.NegativeTimeout, "ack_timeout": &mc.fs.AckTimeout,
			"cache_timeout": &mc.fs.CacheTimeout}[key] = d
	case "read_cache":
		if err := needVal(); err != nil {
			return err
		}
		mib, err := strconv.ParseInt(val, 10, 64)
		if err != nil || mib < 0 || mib > 1<<20 {
			return fmt.Errorf("want MiB between 0 and 1048576, got %q", val)
		}
		mc.fs.RemoteCacheBytes = mib << 20
		if mib == 0 {
			mc.fs.RemoteCacheBytes = -1 // no cache (0 means the default)
		}
	case "meta", "dataserver", "tls_dir", "data_dir", "fsname":
		if err := needVal(); err != nil {
			return err
		}
		*map[string]*string{"meta": &mc.meta, "dataserver": &mc.dataserver, "tls_dir": &mc.tlsDir, "data_dir": &mc.dataDir,
			"fsname": &mc.fs.FsName}[key] = val
	default:
		return fmt.Errorf("unknown option (see lis mount --help)")
	}
	return nil
}

// parseSeconds reads a cache timeout in seconds ("1", "0.5"); 0 disables
// the cache.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 86400 {
		return 0, fmt.Errorf("want seconds between 0 and 86400, got %q", s)
	}
	if f == 0 {
		return -1, nil // the client's "no caching" (0 means default)
	}
	return time.Duration(f * float64(time.Second)), nil
}
