package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMountOptions: -o options land in the client's options, and a bad
// one is refused with its name.
func TestMountOptions(t *testing.T) {
	var mc mountConfig
	require.NoError(t, parseMountOptions("defaults,x-systemd.automount,ro,cache_timeout=30,attr_timeout=0.5,negative_timeout=0", &mc))
	require.True(t, mc.fs.ReadOnly)
	require.Equal(t, 30*time.Second, mc.fs.CacheTimeout)
	require.Equal(t, 500*time.Millisecond, mc.fs.AttrTimeout)
	require.Negative(t, mc.fs.NegativeTimeout, "0 disables the cache")

	require.NoError(t, parseMountOptions("cache_timeout=0", &mc))
	require.Negative(t, mc.fs.CacheTimeout, "0 caches for the short timeouts only")

	for _, bad := range []string{"cache_timeout", "cache_timeout=-1", "cache_timeout=soon", "frobnicate"} {
		err := parseMountOptions(bad, &mc)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), bad)
	}
}
