package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry bounds shared by the engines. A conflicting transaction is run again
// after a jittered, exponentially growing pause, so that racing transactions
// spread out instead of colliding again in lock step.
const (
	defaultMaxAttempts = 100
	minBackoff         = 50 * time.Microsecond
	maxBackoff         = 20 * time.Millisecond
)

// errRetry is the internal signal from one attempt of a transaction that it
// must be run again on a fresh snapshot. It never leaves Engine.Txn: after
// the last attempt it is replaced by ErrConflict.
type errRetry struct{ cause error }

func (e *errRetry) Error() string { return fmt.Sprintf("retry transaction: %v", e.cause) }
func (e *errRetry) Unwrap() error { return e.cause }

// retryable wraps cause as a retry signal for runWithRetry.
func retryable(cause error) error { return &errRetry{cause: cause} }

// runWithRetry runs attempt until it returns something other than a retry
// signal, at most maxAttempts times, sleeping between attempts. onRetry is
// called for every attempt that will be retried (engines count conflicts
// there). The error of the last attempt is wrapped with ErrConflict.
func runWithRetry(ctx context.Context, maxAttempts int, onRetry func(), attempt func() error) error {
	if maxAttempts <= 0 {
		maxAttempts = defaultMaxAttempts
	}
	backoff := minBackoff
	for n := 1; ; n++ {
		err := attempt()
		var r *errRetry
		if !errors.As(err, &r) {
			return err
		}
		onRetry()
		if n >= maxAttempts {
			return fmt.Errorf("%w after %d attempts: %v", ErrConflict, n, r.cause)
		}
		if err := sleepCtx(ctx, backoff/2+rand.N(backoff/2+1)); err != nil {
			return fmt.Errorf("transaction retry: %w", err)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
