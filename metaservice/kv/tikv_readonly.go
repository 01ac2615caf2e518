package kv

import (
	"bytes"
	"context"
	"fmt"
	"math"

	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/txnkv/txnsnapshot"
)

// errStaleLatest is the retry cause of a read-only attempt whose "latest"
// first read turned out older than the snapshot of its later reads.
var errStaleLatest = fmt.Errorf("%w: first read changed before the snapshot", ErrConflict)

// tikvROTxn is one attempt of a read-only transaction.
//
// The common read-only transaction is a single point read (a getattr).
// TiKV serves a Get at timestamp MaxUint64 as "the latest committed
// version" (resolving any lock it meets first), which needs no timestamp
// from PD: that is one round trip instead of two, and it is linearizable
// for that one read. Two such reads, though, are not one snapshot. So only
// the first Get of an attempt reads at "latest"; the first read after it
// fetches a timestamp and re-reads the first key at that snapshot, in the
// same BatchGet where it can. If the first key changed in between, the
// attempt is marked stale: reads go on (fn is not disturbed by an error it
// could not act on), but whatever fn returns is discarded and fn is rerun
// with a timestamp from the start. Everything fn returns from is therefore
// one snapshot.
type tikvROTxn struct {
	e      *TiKV
	ctx    context.Context
	latest bool                    // the first Get may read at "latest"
	snap   *txnsnapshot.KVSnapshot // nil until a timestamp was fetched
	first  []byte                  // cluster key read at "latest", to re-check
	firstV []byte                  // its stored value (nil: absent)
	stale  bool                    // the re-check failed
	done   bool
}

var _ Txn = (*tikvROTxn)(nil)

// readOnly runs one attempt of a read-only transaction.
func (e *TiKV) readOnly(ctx context.Context, fn func(Txn) error, latest bool) error {
	t := &tikvROTxn{e: e, ctx: ctx, latest: latest}
	err := fn(t)
	t.done = true
	if t.stale {
		return retryable(errStaleLatest)
	}
	return err
}

// snapshot returns the attempt's snapshot, fetching a timestamp the first
// time.
func (t *tikvROTxn) snapshot() (*txnsnapshot.KVSnapshot, error) {
	if t.snap == nil {
		ts, err := t.e.startTS(t.ctx)
		if err != nil {
			return nil, err
		}
		t.snap = t.e.store.GetSnapshot(ts)
	}
	return t.snap, nil
}

// check compares the value read at "latest" with got, the snapshot's
// values, marks the attempt stale if they differ, and forgets the first
// key: it is checked once.
func (t *tikvROTxn) check(got map[string][]byte) {
	v, ok := got[string(t.first)]
	if ok != (t.firstV != nil) || !bytes.Equal(v, t.firstV) {
		t.stale = true
	}
	t.first = nil
}

// Get implements Txn.
func (t *tikvROTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	k := t.e.key(key)
	if t.latest && t.snap == nil && t.first == nil {
		v, err := t.e.store.GetSnapshot(math.MaxUint64).Get(t.ctx, k)
		if err != nil && !tikverr.IsErrNotFound(err) {
			return nil, fmt.Errorf("tikv get %q: %w", key, err)
		}
		t.first, t.firstV = k, v
		if v == nil {
			return nil, nil
		}
		return unescapeValue(v), nil
	}
	got, err := t.batchGet([][]byte{k})
	if err != nil {
		return nil, fmt.Errorf("tikv get %q: %w", key, err)
	}
	if v, ok := got[string(k)]; ok {
		return unescapeValue(v), nil
	}
	return nil, nil
}

// batchGet reads cluster keys from the snapshot, re-checking the first key
// in the same request.
func (t *tikvROTxn) batchGet(keys [][]byte) (map[string][]byte, error) {
	snap, err := t.snapshot()
	if err != nil {
		return nil, err
	}
	if t.first == nil {
		return snap.BatchGet(t.ctx, keys)
	}
	got, err := snap.BatchGet(t.ctx, append(keys[:len(keys):len(keys)], t.first))
	if err != nil {
		return nil, err
	}
	t.check(got)
	return got, nil
}

// BatchGet implements Txn.
func (t *tikvROTxn) BatchGet(keys [][]byte) (map[string][]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	ks := make([][]byte, len(keys))
	for i, k := range keys {
		ks[i] = t.e.key(k)
	}
	got, err := t.batchGet(ks)
	if err != nil {
		return nil, fmt.Errorf("tikv batch get %d keys: %w", len(keys), err)
	}
	// Only the keys asked for: not the re-checked first key.
	out := make(map[string][]byte, len(ks))
	for _, k := range ks {
		if v, ok := got[string(k)]; ok {
			out[string(k[len(t.e.prefix):])] = unescapeValue(v)
		}
	}
	return out, nil
}

// Scan implements Txn.
func (t *tikvROTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) bool) error {
	if t.done {
		return errTxnDone
	}
	snap, err := t.snapshot()
	if err != nil {
		return err
	}
	if t.first != nil {
		got, err := snap.BatchGet(t.ctx, [][]byte{t.first})
		if err != nil {
			return fmt.Errorf("tikv scan: re-check: %w", err)
		}
		t.check(got)
	}
	lo, hi := t.e.bounds(start, end)
	it, err := snap.Iter(lo, hi)
	if err != nil {
		return fmt.Errorf("tikv scan %q: %w", start, err)
	}
	return t.e.scan(it, limit, nil, fn)
}

// Set implements Txn: read-only transactions write nothing.
func (t *tikvROTxn) Set(key, value []byte) error {
	if t.done {
		return errTxnDone
	}
	return ErrReadOnly
}

// Delete implements Txn: read-only transactions write nothing.
func (t *tikvROTxn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	return ErrReadOnly
}
