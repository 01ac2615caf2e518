package metaservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/metaservice/callbacks"
	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/registry"
)

// Options configure a Service.
type Options struct {
	// Capacity is the volume size statfs reports; 0 means 1 PiB.
	Capacity uint64
	// SessionTimeout is how long a session lives without a heartbeat.
	SessionTimeout time.Duration
	// InvalidationWait bounds how long a change waits for the listening
	// clients that cache what it changed to acknowledge the invalidation
	// (invalidation.go); one that misses it is not waited for again until
	// it acknowledges. Default 1s.
	InvalidationWait time.Duration
	// ReapInterval is how often dead sessions are looked for.
	ReapInterval time.Duration
	// UsageFlushInterval is how often usage deltas are written.
	UsageFlushInterval time.Duration
	// PolicyCacheTTL bounds how long a resolved policy is trusted when
	// another metaservice process may have changed it.
	PolicyCacheTTL time.Duration
	// Dataservers reaches the dataservers, to install and move leases;
	// nil dials them by their registered addresses (package dspool), with
	// DataserverCreds securing TCP (the cluster's TLS; nil: plaintext).
	Dataservers     Dataservers
	DataserverCreds credentials.TransportCredentials
	// HandoverTimeout bounds how long a lease move waits for the new
	// holder to catch up with the old one (default 1 minute); past it the
	// move fails with EAGAIN, and the writer may try again.
	HandoverTimeout time.Duration
	// ReclaimInterval is how often the chunks of deleted and truncated
	// files are deleted from the dataservers (default 2s).
	ReclaimInterval time.Duration
	// Liveness says when a silent dataserver is suspect and when down.
	Liveness registry.Timeouts
	// RereplicateAfter is how long a dataserver must be silent to be
	// taken as lost: its copies are made again elsewhere, and the chunks
	// it was the primary of fail over (sweep.go). Default 10 minutes; never
	// less than Liveness.Down.
	RereplicateAfter time.Duration
	// Logger receives the service's structured logs.
	Logger *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Capacity == 0 {
		o.Capacity = 1 << 50
	}
	if o.InvalidationWait == 0 {
		o.InvalidationWait = time.Second
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 60 * time.Second
	}
	if o.ReapInterval == 0 {
		o.ReapInterval = 10 * time.Second
	}
	if o.UsageFlushInterval == 0 {
		o.UsageFlushInterval = time.Second
	}
	if o.PolicyCacheTTL == 0 {
		o.PolicyCacheTTL = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Liveness = o.Liveness.WithDefaults()
	if o.RereplicateAfter == 0 {
		o.RereplicateAfter = 10 * time.Minute
	}
	o.RereplicateAfter = max(o.RereplicateAfter, o.Liveness.Down)
	if o.ReclaimInterval <= 0 {
		o.ReclaimInterval = 2 * time.Second
	}
	if o.HandoverTimeout <= 0 {
		o.HandoverTimeout = time.Minute
	}
}

// Service is the metaservice core: every namespace transaction, chunk
// records, sessions, locks and policies, on top of a kv.Engine. It does no
// network I/O itself; the rpc package serves it.
//
// Service is safe for concurrent use. Background work (session reaping,
// usage flushing) runs in goroutines owned by the Service and stopped by
// Close.
type Service struct {
	kv      kv.Engine
	opts    Options
	log     *slog.Logger
	started time.Time

	sweepLimits sweepLimits // the redundancy sweep's (sweep.go)
	repairs     repairs     // repairs of damaged copies started (repair.go)

	dataservers  Dataservers
	ownPool      *dspool.Pool // the dataservers' pool, when the service made it
	registryView registryView

	ids      *idAllocator
	usage    *usageTracker
	policies *policyCache
	locks    *lockWaiters
	// callbacks are the client sessions' holds and invalidations
	// (invalidation.go).
	callbacks *callbacks.Table
	// reviewAfter is where the next placement review pass goes on in the
	// queue (review.go).
	reviewAfter atomic.Uint64

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Open starts a Service on engine, formatting the volume if it is empty.
func Open(ctx context.Context, engine kv.Engine, opts Options) (*Service, error) {
	opts.setDefaults()
	s := &Service{kv: engine, opts: opts, log: opts.Logger, dataservers: opts.Dataservers, started: time.Now(),
		sweepLimits: sweepLimits{batch: sweepBatch, budget: sweepBudget}}
	if s.dataservers == nil {
		s.ownPool = dspool.NewCreds(opts.DataserverCreds)
		s.dataservers = s.ownPool
	}
	s.dataservers = adminDataservers{Dataservers: s.dataservers, s: s}
	s.ids = newIDAllocator(s)
	s.usage = newUsageTracker()
	s.policies = newPolicyCache(opts.PolicyCacheTTL, opts.Now)
	s.locks = newLockWaiters()
	s.callbacks = callbacks.New(callbacks.Options{})
	if err := s.format(ctx); err != nil {
		if s.ownPool != nil {
			s.ownPool.Close()
		}
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.goLoop(bg, opts.UsageFlushInterval, s.flushUsage)
	s.goLoop(bg, opts.ReapInterval, s.reapSessions)
	s.goLoop(bg, opts.ReclaimInterval, s.ReclaimChunks)
	s.goLoop(bg, opts.ReclaimInterval, s.ReviewPlacement)
	s.goLoop(bg, opts.ReclaimInterval, s.SweepRedundancy)
	s.goLoop(bg, opts.ReclaimInterval, s.RepairDamaged)
	return s, nil
}

// Engine returns the KV engine the service stores into.
func (s *Service) Engine() kv.Engine { return s.kv }

// Close stops background work, flushes usage counters and syncs the
// engine. It does not close the engine, which the caller owns.
func (s *Service) Close() error {
	s.stop()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.flushUsage(ctx); err != nil {
		s.log.Warn("flush usage at close", "err", err)
	}
	if s.ownPool != nil {
		s.ownPool.Close()
	}
	return s.kv.Sync(ctx)
}

// Sync makes every namespace change acknowledged so far durable.
func (s *Service) Sync(ctx context.Context) error {
	if err := s.kv.Sync(ctx); err != nil {
		return fmt.Errorf("sync metadata: %w", err)
	}
	return nil
}

func (s *Service) goLoop(ctx context.Context, every time.Duration, fn func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("metaservice background task", "err", err)
				}
			}
		}
	}()
}

func (s *Service) now() int64 { return s.opts.Now().UnixNano() }

// update runs fn in a read-write transaction. Side effects that must only
// happen once the transaction committed (usage deltas, cache
// invalidation, waking lock waiters) are registered on the tx and run after
// the commit.
func (s *Service) update(ctx context.Context, fn func(t *tx) error, opts ...kv.TxnOption) error {
	var t *tx
	err := s.kv.Txn(ctx, func(kt kv.Txn) error {
		t = &tx{Txn: kt, s: s, now: s.now()}
		if err := fn(t); err != nil {
			return err
		}
		return t.setErr
	}, opts...)
	if err != nil {
		return err
	}
	t.committed()
	t.publish(ctx)
	return nil
}

// view runs fn in a read-only transaction.
func (s *Service) view(ctx context.Context, fn func(t *tx) error) error {
	return s.kv.Txn(ctx, func(kt kv.Txn) error {
		return fn(&tx{Txn: kt, s: s, now: s.now()})
	}, kv.ReadOnly())
}

// format writes the root directory and shard 0 if the volume is empty.
func (s *Service) format(ctx context.Context) error {
	return s.update(ctx, func(t *tx) error {
		v, err := t.Get(formatKey())
		if err != nil || v != nil {
			return err
		}
		root := &Attr{Ino: RootIno, Mode: syscall.S_IFDIR | 0755, Nlink: 2,
			Atime: t.now, Mtime: t.now, Ctime: t.now, Parent: RootIno}
		t.putAttr(root)
		t.mustSet(shardRecordKey(RootShard), encode(&ShardRecord{ID: RootShard, Root: RootIno, Path: "/", Created: t.now}))
		// Local number 1 is the root; the counter starts past it.
		t.mustSet(counterKey(RootShard, cInode), encodeUint(2))
		t.mustSet(counterKey(RootShard, cChunk), encodeUint(1))
		t.mustSet(formatKey(), []byte("lis-v1"))
		t.usageDelta(RootShard, 1, 0)
		return nil
	}, kv.WithSync(true))
}

// errnof wraps errno with a message, so errors.Is(err, errno) holds and the
// message says what was wrong and where.
func errnof(errno syscall.Errno, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errno)
}

// IsErrno reports whether err carries errno.
func IsErrno(err error, errno syscall.Errno) bool { return errors.Is(err, errno) }
