package kv

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Open opens the engine a URL names:
//
//	embedded:DIR                      the embedded engine in directory DIR
//	memory:                           the embedded engine in memory (tests)
//	tikv://PD1:2379,PD2:2379/VOLUME   volume VOLUME on the TiKV cluster whose
//	                                  PD endpoints are listed
func Open(ctx context.Context, url string, opts ...Option) (Engine, error) {
	switch {
	case url == "memory:":
		return OpenMemory(opts...)
	case strings.HasPrefix(url, "embedded:"):
		dir := strings.TrimPrefix(url, "embedded:")
		if dir == "" {
			return nil, fmt.Errorf("kv url %q: embedded needs a directory (embedded:DIR)", url)
		}
		return OpenEmbedded(dir, opts...)
	case strings.HasPrefix(url, "tikv://"):
		pds, volume, err := ParseTiKVURL(url)
		if err != nil {
			return nil, err
		}
		return OpenTiKV(ctx, pds, volume, opts...)
	default:
		return nil, fmt.Errorf("kv url %q: want embedded:DIR, memory: or tikv://PD1:PORT,PD2:PORT/VOLUME", url)
	}
}

// ParseTiKVURL splits "tikv://PD1:2379,PD2:2379/VOLUME" into its PD
// addresses and volume name.
func ParseTiKVURL(url string) (pds []string, volume string, err error) {
	rest, ok := strings.CutPrefix(url, "tikv://")
	if !ok {
		return nil, "", fmt.Errorf("kv url %q: not a tikv:// url", url)
	}
	hosts, volume, ok := strings.Cut(rest, "/")
	if !ok || volume == "" {
		return nil, "", fmt.Errorf("kv url %q: missing volume name (tikv://PD1:2379,PD2:2379/VOLUME)", url)
	}
	if err := ValidVolume(volume); err != nil {
		return nil, "", fmt.Errorf("kv url %q: %w", url, err)
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return nil, "", fmt.Errorf("kv url %q: PD address %q is not HOST:PORT", url, h)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return nil, "", fmt.Errorf("kv url %q: PD address %q has a bad port", url, h)
		}
		pds = append(pds, h)
	}
	return pds, volume, nil
}

// ValidVolume checks a volume name: 1 to 64 bytes of letters, digits, '.',
// '_' and '-', not starting with '.'. The name becomes part of every key of
// the volume on TiKV.
func ValidVolume(v string) error {
	if v == "" || len(v) > 64 || v[0] == '.' {
		return fmt.Errorf("volume name %q: want 1-64 characters, not starting with '.'", v)
	}
	for _, c := range []byte(v) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("volume name %q: character %q not allowed (letters, digits, '.', '_', '-')", v, c)
		}
	}
	return nil
}
