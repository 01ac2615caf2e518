package dataserver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/lis-fs/lis/metaservice/policy"
)

// bandwidth is the token bucket every replication sender of a dataserver
// draws from before it ships a batch (journal mutations and full copies
// alike): the budget is per dataserver because what it protects is the
// link out of its site, which all its peers share. Config.PriorityHours
// lifts it (the nightly window of a policy's priority_hours), and
// Config.ReplicationBurst lets a sender that was idle send up to a
// second's worth at once; without it the bucket holds 50 ms, and never
// less than one batch, so that tokens earned while a batch is being sent
// are not lost and the rate holds over any second.
type bandwidth struct {
	limiter  *rate.Limiter // nil: unlimited
	priority *policy.HourRange
	now      func() time.Time
	waited   prometheus.Counter // seconds senders spent waiting for tokens
}

func newBandwidth(cfg *Config, waited prometheus.Counter) *bandwidth {
	b := &bandwidth{priority: cfg.PriorityHours, now: cfg.Now, waited: waited}
	if limit := cfg.ReplicationLimit; limit > 0 {
		batch := 2 * int64(cfg.ReplBatchBytes) // a batch ends past its target by at most a record
		burst := max(limit/20, batch)
		if cfg.ReplicationBurst {
			burst = max(limit, batch)
		}
		b.limiter = rate.NewLimiter(rate.Limit(limit), int(min(burst, 1<<30)))
		// The bucket starts empty: a dataserver that starts (or restarts)
		// does not get a burst it did not earn by being idle.
		b.limiter.ReserveN(time.Now(), b.limiter.Burst())
	}
	return b
}

// take waits until n bytes may go out, or ctx ends.
func (b *bandwidth) take(ctx context.Context, n int) error {
	if b.limiter == nil || b.priority != nil && b.priority.Contains(b.now()) {
		return nil
	}
	start := time.Now()
	defer func() { b.waited.Add(time.Since(start).Seconds()) }()
	for n > 0 {
		k := min(n, b.limiter.Burst())
		if err := b.limiter.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// window is how many batches of batchBytes a sender may have in flight
// now, of at most maxBatches: under the limit, at most a second's worth of
// it, and never fewer than two, so a batch is sent while the last is acked.
func (b *bandwidth) window(maxBatches, batchBytes int) int {
	if b.limiter == nil || b.priority != nil && b.priority.Contains(b.now()) {
		return maxBatches
	}
	return max(2, min(maxBatches, int(b.limiter.Limit())/batchBytes))
}
