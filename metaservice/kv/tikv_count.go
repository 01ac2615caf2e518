package kv

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/tikvrpc"
)

// counterKey keys the round-trip counter in a transaction's context.
type counterKey struct{}

// withCounter makes requests sent with ctx count on c.
func withCounter(ctx context.Context, c *atomic.Uint64) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// count adds one round trip to the counter of ctx, if it has one. Requests
// on background contexts (secondary commits, lock cleanup, GC) count for
// nobody: no transaction waits for them.
func count(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*atomic.Uint64); ok {
		c.Add(1)
	}
}

// countingClient counts the KV requests sent on a transaction's context.
type countingClient struct{ tikv.Client }

func (c countingClient) SendRequest(ctx context.Context, addr string, req *tikvrpc.Request, timeout time.Duration) (*tikvrpc.Response, error) {
	count(ctx)
	return c.Client.SendRequest(ctx, addr, req, timeout)
}

// countingOracle counts the timestamp fetches made on a transaction's
// context.
type countingOracle struct{ oracle.Oracle }

func (o countingOracle) GetTimestamp(ctx context.Context, opt *oracle.Option) (uint64, error) {
	count(ctx)
	return o.Oracle.GetTimestamp(ctx, opt)
}

func (o countingOracle) GetTimestampAsync(ctx context.Context, opt *oracle.Option) oracle.Future {
	count(ctx)
	return o.Oracle.GetTimestampAsync(ctx, opt)
}

// instrument wraps store's client and oracle with the counters, once. It
// must run before the store is used concurrently (client-go's SetOracle is
// not synchronized).
func instrument(store *tikv.KVStore) {
	if _, ok := store.GetTiKVClient().(countingClient); !ok {
		store.SetTiKVClient(countingClient{store.GetTiKVClient()})
	}
	if _, ok := store.GetOracle().(countingOracle); !ok {
		store.SetOracle(countingOracle{store.GetOracle()})
	}
}

// TiKV cannot store empty values (client-go refuses them: an empty value is
// its delete marker), so values are escaped: a value that is empty or
// starts with 0x00 is stored with a 0x00 byte prepended; any other value is
// stored as is, without a copy.

// escapeValue returns the stored form of v.
func escapeValue(v []byte) []byte {
	if len(v) == 0 || v[0] == 0 {
		return append([]byte{0}, v...)
	}
	return v
}

// unescapeValue returns the value whose stored form is s; never nil.
func unescapeValue(s []byte) []byte {
	if len(s) > 0 && s[0] == 0 {
		return s[1:]
	}
	if s == nil {
		return []byte{}
	}
	return s
}
