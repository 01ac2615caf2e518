package rpc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsLocalAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"unix:/run/lis/meta.sock": true,
		"127.0.0.1:7000":          true,
		"127.8.9.1:7000":          true,
		"[::1]:7000":              true,
		"localhost:7000":          true,
		":7000":                   false,
		"0.0.0.0:7000":            false,
		"[::]:7000":               false,
		"10.1.2.3:7000":           false,
		"meta.example.com:7000":   false,
		"garbage":                 false,
	} {
		require.Equal(t, want, IsLocalAddr(addr), addr)
	}
}
