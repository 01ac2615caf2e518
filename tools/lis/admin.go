package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lis-fs/lis/fs/volume"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// metaAddr picks the metaservice an administrative command talks to: the
// --meta flag; else the one serving the Lis mount that holds path (its
// source, as /proc/self/mountinfo shows it, names the data directory or the
// metaservice address); else the default embedded volume's socket.
func metaAddr(flag, path string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", err
		}
		if src, ok := lisMountSource(abs); ok {
			return sourceMetaAddr(src), nil
		}
		return "", fmt.Errorf("%s is not on a Lis mount; say which metaservice with --meta", path)
	}
	return volume.MetaSocket(defaultDataDir()), nil
}

// sourceMetaAddr maps a mount source ("lis:/var/lib/lis" for an embedded
// volume, "lis:ADDR" for a cluster client) to a metaservice address.
func sourceMetaAddr(src string) string {
	s := strings.TrimPrefix(src, "lis:")
	if st, err := os.Stat(s); err == nil && st.IsDir() {
		return volume.MetaSocket(s)
	}
	return s
}

// lisMountSource finds the Lis mount holding abs (the longest mount point
// that is a prefix of it) and returns its source.
func lisMountSource(abs string) (string, bool) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	best, src := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 || tail[0] != "fuse.lis" {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, src = mp, tail[1]
		}
	}
	return src, best != ""
}

func dialMeta(flag, path string) (*rpc.Client, error) {
	addr, err := metaAddr(flag, path)
	if err != nil {
		return nil, err
	}
	c, err := rpc.Dial(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("metaservice %s: %w", addr, err)
	}
	return c, nil
}
