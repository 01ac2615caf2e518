package kv

import (
	"bytes"
	"context"
	"fmt"

	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/txnkv/transaction"
)

// tikvIter is the iterator client-go's Iter methods return.
type tikvIter interface {
	Valid() bool
	Key() []byte
	Value() []byte
	Next() error
	Close()
}

// tikvTxn is one attempt of a read-write TiKV transaction. client-go's
// KVTxn holds the write buffer and merges it into reads; reads records the
// cluster keys read, to be locked at commit (see TiKV).
type tikvTxn struct {
	e     *TiKV
	ctx   context.Context
	txn   *transaction.KVTxn
	reads [][]byte
	done  bool
}

var _ Txn = (*tikvTxn)(nil)

// Get implements Txn.
func (t *tikvTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	k := t.e.key(key)
	t.reads = append(t.reads, k)
	v, err := t.txn.Get(t.ctx, k)
	if tikverr.IsErrNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tikv get %q: %w", key, err)
	}
	return unescapeValue(v), nil
}

// BatchGet implements Txn.
func (t *tikvTxn) BatchGet(keys [][]byte) (map[string][]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	ks := make([][]byte, len(keys))
	for i, k := range keys {
		ks[i] = t.e.key(k)
	}
	t.reads = append(t.reads, ks...)
	got, err := t.txn.BatchGet(t.ctx, ks)
	if err != nil {
		return nil, fmt.Errorf("tikv batch get %d keys: %w", len(keys), err)
	}
	return t.e.unprefixMap(got), nil
}

// Scan implements Txn.
func (t *tikvTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) bool) error {
	if t.done {
		return errTxnDone
	}
	lo, hi := t.e.bounds(start, end)
	it, err := t.txn.Iter(lo, hi)
	if err != nil {
		return fmt.Errorf("tikv scan %q: %w", start, err)
	}
	return t.e.scan(it, limit, func(k []byte) { t.reads = append(t.reads, bytes.Clone(k)) }, fn)
}

// Set implements Txn.
func (t *tikvTxn) Set(key, value []byte) error {
	switch {
	case t.done:
		return errTxnDone
	case value == nil:
		return fmt.Errorf("kv: set %q: nil value", key)
	}
	if err := t.txn.Set(t.e.key(key), escapeValue(value)); err != nil {
		return fmt.Errorf("tikv set %q: %w", key, err)
	}
	return nil
}

// Delete implements Txn.
func (t *tikvTxn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := t.txn.Delete(t.e.key(key)); err != nil {
		return fmt.Errorf("tikv delete %q: %w", key, err)
	}
	return nil
}

// bounds maps a volume key range to cluster keys; a nil end is the end of
// the volume.
func (e *TiKV) bounds(start, end []byte) (lo, hi []byte) {
	lo = e.key(start)
	if end == nil {
		return lo, e.end
	}
	return lo, e.key(end)
}

// unprefixMap strips the volume prefix from the keys of a BatchGet result
// and unescapes its values.
func (e *TiKV) unprefixMap(got map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(got))
	for k, v := range got {
		out[k[len(e.prefix):]] = unescapeValue(v)
	}
	return out
}

// scan drives a client-go iterator for Txn.Scan: it strips the prefix,
// unescapes values, applies the limit, reports each cluster key to visit
// and counts one round trip per batch the scanner fetches.
func (e *TiKV) scan(it tikvIter, limit int, visit func(k []byte), fn func(key, value []byte) bool) error {
	defer it.Close()
	e.stats.roundTrips.Add(1)
	for n := 0; it.Valid() && (limit <= 0 || n < limit); {
		k := it.Key()
		if visit != nil {
			visit(k)
		}
		if n++; n%scanBatch == 0 {
			e.stats.roundTrips.Add(1)
		}
		if !fn(k[len(e.prefix):], unescapeValue(it.Value())) {
			return nil
		}
		if err := it.Next(); err != nil {
			return fmt.Errorf("tikv scan: %w", err)
		}
	}
	return nil
}
