package kv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	tikverr "github.com/tikv/client-go/v2/error"
	tikvkv "github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/txnkv"
)

// TiKV is the cluster engine: client-go's optimistic transactions (txnkv)
// on a TiKV cluster, one volume per key prefix.
//
// Round trips: a read-write transaction fetches a start timestamp, reads,
// and commits with 1PC (one prewrite that also commits, when every key is
// in one region) or async commit (the transaction is committed once the
// prewrites succeed; the commit of its keys happens in the background). A
// read-only transaction whose first read is a single Get reads the latest
// committed version (a snapshot at MaxUint64) and needs no timestamp at all;
// see tikvROTxn. Stats.RoundTrips counts the requests each transaction
// waits for: every KV request sent on its behalf (counted by the store's
// client wrapper, so lock resolution and region retries count too), every
// timestamp fetch, and, as the scanner does not carry the transaction's
// context, one per Scan call plus one per further batch of 256 keys.
// Requests sent in parallel to several regions count once each.
//
// Conflicts: TiKV's optimistic transactions detect write-write conflicts at
// prewrite. To detect read-write conflicts too, the keys a transaction read
// are prewritten as lock-only mutations (Op_Lock) when it commits; so on
// TiKV two committing transactions that merely read the same key conflict
// as well (the embedded engine does not): hot keys belong in read-only
// transactions.
//
// An error returned by fn is returned as is, never retried: the attempt's
// snapshot timestamp was fetched after Txn was called, so the view fn
// judged was current at a point within the call.
type TiKV struct {
	store  *tikv.KVStore
	ownsKV bool // Close closes store
	prefix []byte
	end    []byte // PrefixEnd(prefix): upper bound of every scan
	opts   Options
	causal bool
	stats  counters
	gate   closeGate          // Close refuses new calls and waits for running ones
	stopGC context.CancelFunc // stops gcLoop
	gcDone chan struct{}      // closed when gcLoop returns
}

var (
	_ Engine   = (*TiKV)(nil)
	_ Splitter = (*TiKV)(nil)
)

// VolumePrefix is the prefix of every key of volume on a shared cluster.
func VolumePrefix(volume string) []byte { return []byte("lis/" + volume + "/") }

// OpenTiKV connects to the TiKV cluster whose PD endpoints are pdAddrs and
// opens volume on it. The engine owns the connection. When no endpoint
// accepts a connection within PDConnectTimeout it fails, naming them.
func OpenTiKV(ctx context.Context, pdAddrs []string, volume string, opts ...Option) (*TiKV, error) {
	if err := ValidVolume(volume); err != nil {
		return nil, err
	}
	if err := probePD(ctx, pdAddrs, PDConnectTimeout); err != nil {
		return nil, fmt.Errorf("tikv connect: %w", err)
	}
	c, err := txnkv.NewClient(pdAddrs)
	if err != nil {
		return nil, fmt.Errorf("tikv connect %v: %w", pdAddrs, err)
	}
	e, err := NewTiKVFromStore(c.KVStore, volume, opts...)
	if err != nil {
		c.Close()
		return nil, err
	}
	e.ownsKV = true
	return e, nil
}

// NewTiKVFromStore opens volume on an existing store (tests build one on
// client-go's mock cluster). The store stays the caller's: Close does not
// close it. Several engines may share a store; the first one wraps the
// store's RPC client and timestamp oracle to count round trips, and each
// engine counts only the requests of its own transactions.
func NewTiKVFromStore(store *tikv.KVStore, volume string, opts ...Option) (*TiKV, error) {
	if err := ValidVolume(volume); err != nil {
		return nil, err
	}
	instrument(store)
	o := resolveOptions(opts)
	p := VolumePrefix(volume)
	ctx, cancel := context.WithCancel(context.Background())
	e := &TiKV{
		store:  store,
		prefix: p,
		end:    PrefixEnd(p),
		opts:   o,
		causal: o.CausalConsistency,
		stopGC: cancel,
		gcDone: make(chan struct{}),
	}
	go e.gcLoop(ctx)
	return e, nil
}

// Store returns the underlying client-go store.
func (e *TiKV) Store() *tikv.KVStore { return e.store }

// key maps a volume key to its cluster key.
func (e *TiKV) key(k []byte) []byte {
	out := make([]byte, 0, len(e.prefix)+len(k))
	return append(append(out, e.prefix...), k...)
}

// Txn implements Engine.
func (e *TiKV) Txn(ctx context.Context, fn func(Txn) error, opts ...TxnOption) error {
	if err := e.gate.enter(); err != nil {
		return err
	}
	defer e.gate.leave()
	o := ResolveOptions(opts)
	ctx = withCounter(ctx, &e.stats.roundTrips)
	attempt := 0
	return runWithRetry(ctx, e.opts.MaxAttempts, func() { e.stats.conflicts.Add(1) }, func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		attempt++
		var err error
		if o.ReadOnly {
			// Only the first attempt may read at "latest": a rerun takes a
			// timestamp at once, so it cannot be invalidated again.
			err = e.readOnly(ctx, fn, attempt == 1)
		} else {
			err = e.readWrite(ctx, fn)
		}
		if err == nil {
			e.stats.txns.Add(1)
		}
		return err
	})
}

// startTS fetches a timestamp from PD (one round trip).
func (e *TiKV) startTS(ctx context.Context) (uint64, error) {
	ts, err := e.store.GetOracle().GetTimestamp(ctx, &oracle.Option{TxnScope: oracle.GlobalTxnScope})
	if err != nil {
		return 0, fmt.Errorf("tikv get timestamp: %w", err)
	}
	return ts, nil
}

// readWrite runs one attempt of a read-write transaction.
func (e *TiKV) readWrite(ctx context.Context, fn func(Txn) error) error {
	ts, err := e.startTS(ctx)
	if err != nil {
		return err
	}
	txn, err := e.store.Begin(tikv.WithStartTS(ts))
	if err != nil {
		return fmt.Errorf("tikv begin: %w", err)
	}
	txn.SetEnable1PC(true)
	txn.SetEnableAsyncCommit(true)
	txn.SetCausalConsistency(e.causal)
	t := &tikvTxn{e: e, ctx: ctx, txn: txn}
	err = fn(t)
	t.done = true
	if err != nil || txn.Len() == 0 {
		// Nothing was prewritten: rolling back is local. A transaction that
		// wrote nothing read one consistent snapshot and needs no commit.
		_ = txn.Rollback()
		return err
	}
	if len(t.reads) > 0 {
		if err := txn.LockKeys(ctx, &tikvkv.LockCtx{}, t.reads...); err != nil {
			_ = txn.Rollback()
			return fmt.Errorf("tikv lock read keys: %w", err)
		}
	}
	return classifyCommitErr(txn.Commit(ctx))
}

// classifyCommitErr turns a conflict into a retry signal and wraps other
// commit errors. An undetermined result is never retried: the transaction
// may have committed.
func classifyCommitErr(err error) error {
	if err == nil {
		return nil
	}
	var latch *tikverr.ErrWriteConflictInLatch
	var retry *tikverr.ErrRetryable
	switch {
	case tikverr.IsErrorUndetermined(err):
		return fmt.Errorf("tikv commit: %w", err)
	case tikverr.IsErrWriteConflict(err), errors.As(err, &latch), errors.As(err, &retry):
		return retryable(fmt.Errorf("%w: %v", ErrConflict, err))
	default:
		return fmt.Errorf("tikv commit: %w", err)
	}
}

// Sync implements Engine. A TiKV commit is durable (replicated by Raft)
// when it is acknowledged, so there is nothing to do.
func (e *TiKV) Sync(ctx context.Context) error {
	if err := e.gate.enter(); err != nil {
		return err
	}
	e.gate.leave()
	return ctx.Err()
}

// Stats implements Engine.
func (e *TiKV) Stats() Stats { return e.stats.stats() }

// SplitAt implements Splitter: it asks PD to split regions at the given
// volume keys (shard boundaries), so that each shard's keys can be placed
// and led on their own.
func (e *TiKV) SplitAt(ctx context.Context, keys ...[]byte) error {
	if err := e.gate.enter(); err != nil {
		return err
	}
	defer e.gate.leave()
	split := make([][]byte, len(keys))
	for i, k := range keys {
		split[i] = e.key(k)
	}
	if _, err := e.store.SplitRegions(ctx, split, false, nil); err != nil {
		return fmt.Errorf("tikv split regions: %w", err)
	}
	// Forget the regions that were cut, so the next request loads the new
	// ones from PD instead of being bounced by an epoch mismatch.
	cache := e.store.GetRegionCache()
	bo := tikv.NewBackoffer(ctx, 1000)
	for _, k := range split {
		if loc, err := cache.LocateKey(bo, k); err == nil {
			cache.InvalidateCachedRegion(loc.Region)
		}
	}
	return nil
}

// gcLoop advances the GC safe point every GCInterval until ctx is done.
// It is owned by the engine and stopped by Close.
func (e *TiKV) gcLoop(ctx context.Context) {
	defer close(e.gcDone)
	if e.opts.GCInterval < 0 {
		return
	}
	tick := time.NewTicker(e.opts.GCInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := e.GC(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("tikv: advancing the GC safe point failed", "err", err)
			}
		}
	}
}

// GC moves the cluster's GC safe point to now − HistoryWindow: it resolves
// the locks below that point (client-go KVStore.GC), records it in PD (TiKV
// then drops older MVCC versions in compaction) and in the saved safe point
// that clients check before reading. PD keeps the largest safe point any
// client set, so volumes sharing a cluster are collected with the shortest
// window among them. It returns the safe point now in force.
func (e *TiKV) GC(ctx context.Context) (uint64, error) {
	now, err := e.store.GetOracle().GetTimestamp(ctx, &oracle.Option{TxnScope: oracle.GlobalTxnScope})
	if err != nil {
		return 0, fmt.Errorf("tikv gc: get timestamp: %w", err)
	}
	sp := oracle.GoTimeToTS(oracle.GetTimeFromTS(now).Add(-e.opts.HistoryWindow))
	newSP, err := e.store.GC(ctx, sp)
	if err != nil {
		return 0, fmt.Errorf("tikv gc to %d: %w", sp, err)
	}
	if err := e.store.GetSafePointKV().Put(tikv.GcSavedSafePoint, strconv.FormatUint(newSP, 10)); err != nil {
		return 0, fmt.Errorf("tikv gc: save safe point %d: %w", newSP, err)
	}
	return newSP, nil
}

// Close stops the GC loop, waits for running transactions and, if the
// engine opened the connection, closes it.
func (e *TiKV) Close() error {
	if err := e.gate.close(); err != nil {
		return err
	}
	e.stopGC()
	<-e.gcDone
	e.gate.drain()
	if e.ownsKV {
		if err := e.store.Close(); err != nil {
			return fmt.Errorf("tikv close: %w", err)
		}
	}
	return nil
}
