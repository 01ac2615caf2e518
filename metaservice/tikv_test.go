package metaservice

import (
	"os"
	"testing"

	"github.com/pingcap/log"
	"github.com/stretchr/testify/require"
	"github.com/tikv/client-go/v2/testutils"
	"github.com/tikv/client-go/v2/tikv"
	"go.uber.org/zap/zapcore"

	"github.com/lis-fs/lis/metaservice/kv"
)

func TestMain(m *testing.M) {
	// The mock cluster implements neither 1PC nor async commit; client-go
	// would warn at every commit that it falls back to 2PC.
	log.SetLevel(zapcore.ErrorLevel)
	os.Exit(m.Run())
}

// namespaceSplits cut a volume's key space into regions along the
// namespace layout: volume-wide records, and each kind of key of the first
// shards, so that most operations span several regions.
var namespaceSplits = []string{
	"G", "GQ", "GS", "Gs",
	"S\x00\x00A", "S\x00\x00C", "S\x00\x00D", "S\x00\x00L", "S\x00\x00N", "S\x00\x00O", "S\x00\x00X",
	"S\x00\x01", "S\x00\x01D", "S\x00\x02",
}

// tikvEngine opens the TiKV engine on client-go's in-process mock
// cluster, split into len(namespaceSplits)+1 regions.
func tikvEngine(t *testing.T) kv.Engine {
	client, cluster, pd, err := testutils.NewMockTiKV("", nil)
	require.NoError(t, err)
	var keys [][]byte
	for _, p := range namespaceSplits {
		keys = append(keys, append(kv.VolumePrefix("ns"), p...))
	}
	testutils.BootstrapWithMultiRegions(cluster, keys...)
	store, err := tikv.NewTestTiKVStore(client, pd, nil, nil, 0)
	require.NoError(t, err)
	e, err := kv.NewTiKVFromStore(store, "ns")
	require.NoError(t, err)
	t.Cleanup(func() {
		e.Close()
		store.Close()
	})
	return e
}

func TestNamespaceTiKV(t *testing.T) { runSuite(t, tikvEngine) }

func TestConcurrentNamespaceTiKV(t *testing.T) {
	f := newFixture(t, tikvEngine)
	testConcurrentNamespace(t, f, 8, 60)
}
