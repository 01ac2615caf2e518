package kv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

func TestParseTiKVURL(t *testing.T) {
	cases := []struct {
		url     string
		pds     []string
		volume  string
		wantErr string
	}{
		{"tikv://pd1:2379,pd2:2379/vol1", []string{"pd1:2379", "pd2:2379"}, "vol1", ""},
		{"tikv://10.0.0.1:2379/my-vol_2.x", []string{"10.0.0.1:2379"}, "my-vol_2.x", ""},
		{"tikv://[::1]:2379/v", []string{"[::1]:2379"}, "v", ""},
		{"tikv://pd1:2379", nil, "", "missing volume"},
		{"tikv://pd1:2379/", nil, "", "missing volume"},
		{"tikv://pd1/vol", nil, "", "not HOST:PORT"},
		{"tikv://:2379/vol", nil, "", "not HOST:PORT"},
		{"tikv://pd1:99999/vol", nil, "", "bad port"},
		{"tikv://pd1:2379,/vol", nil, "", "not HOST:PORT"},
		{"tikv://pd1:2379/a/b", nil, "", "not allowed"},
		{"tikv://pd1:2379/.hidden", nil, "", "not starting with '.'"},
	}
	for _, c := range cases {
		pds, vol, err := kv.ParseTiKVURL(c.url)
		if c.wantErr != "" {
			require.ErrorContains(t, err, c.wantErr, c.url)
			continue
		}
		require.NoError(t, err, c.url)
		require.Equal(t, c.pds, pds, c.url)
		require.Equal(t, c.volume, vol, c.url)
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{"", "embedded:", "memory:x", "bolt:/tmp/x", "tikv://pd1:2379", "tikv://nohost/v"} {
		_, err := kv.Open(ctx, bad)
		require.Error(t, err, bad)
	}
	e, err := kv.Open(ctx, "memory:")
	require.NoError(t, err)
	require.IsType(t, &kv.Embedded{}, e)
	require.NoError(t, e.Close())
	e, err = kv.Open(ctx, "embedded:"+t.TempDir())
	require.NoError(t, err)
	require.NoError(t, e.Close())
}
