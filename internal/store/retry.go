package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrContention is returned (wrapped, with the last conflict) by Retry and
// Update when every attempt lost a race with another writer.
var ErrContention = errors.New("too many concurrent changes")

// Defaults of RetryOptions.
const (
	DefaultRetryAttempts   = 10
	DefaultRetryMinBackoff = time.Millisecond
	DefaultRetryMaxBackoff = 100 * time.Millisecond
)

// RetryOptions bounds Retry. The zero value takes the defaults.
type RetryOptions struct {
	// Attempts is how many times the attempt runs at most
	// (DefaultRetryAttempts when zero).
	Attempts int
	// MinBackoff and MaxBackoff bound the wait before the next attempt:
	// a random duration up to MinBackoff doubled per conflict, capped at
	// MaxBackoff ("full jitter", so that writers that collided spread
	// out). Defaults DefaultRetryMinBackoff and DefaultRetryMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.Attempts <= 0 {
		o.Attempts = DefaultRetryAttempts
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultRetryMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultRetryMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	return o
}

// Retry runs attempt until it returns anything but a conflict: an error
// wrapping ErrConflict means the attempt lost a compare-and-swap race and
// is run again (it must read again what it writes). Any other result,
// nil included, is returned as it is, and so is the ErrContention of a
// nested Retry (so that attempts do not multiply). After opts.Attempts conflicts the
// error wraps ErrContention and the last conflict; when ctx ends while
// waiting, it wraps ctx's cause. A compare-and-swap whose key vanished
// since the attempt read it returns ErrNotFound: report it with
// AsConflict to have it retried.
func Retry(ctx context.Context, opts RetryOptions, attempt func(ctx context.Context) error) error {
	opts = opts.withDefaults()
	backoff := opts.MinBackoff
	var last error
	for n := range opts.Attempts {
		if n > 0 {
			if err := sleep(ctx, rand.N(backoff+1)); err != nil {
				return fmt.Errorf("cannot retry after %d conflicts: %w", n, err)
			}
			backoff = min(2*backoff, opts.MaxBackoff)
		}
		last = attempt(ctx)
		if !errors.Is(last, ErrConflict) || errors.Is(last, ErrContention) {
			return last // a nested Retry that gave up is not retried again
		}
	}
	return fmt.Errorf("%w (%d attempts): %w", ErrContention, opts.Attempts, last)
}

// AsConflict returns ErrConflict for an ErrNotFound of a compare-and-swap
// or compare-and-delete (the key the attempt read was deleted since, so
// the attempt lost a race and Retry runs it again); other errors are
// returned as they are.
func AsConflict(err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: the key was deleted meanwhile", ErrConflict)
	}
	return err
}

// Update changes one key with compare-and-swap under Retry: it reads the
// key (ok false when it does not exist), calls change with it, and writes
// what change returns, expecting the version it read. change may run
// several times and must not have side effects; it returns ErrSkip to
// leave the key as it is (Update then returns the entry it read, or the
// zero Entry), or another error to stop. Update returns the entry as
// written (Key, Value, Version; ExpiresAt is not filled in).
func Update(ctx context.Context, st Store, key string, opts RetryOptions, change func(cur Entry, ok bool) ([]byte, PutOptions, error)) (Entry, error) {
	var out Entry
	err := Retry(ctx, opts, func(ctx context.Context) error {
		cur, err := st.Get(ctx, key)
		ok := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		val, put, err := change(cur, ok)
		if errors.Is(err, ErrSkip) {
			out = cur
			return nil
		}
		if err != nil {
			return err
		}
		ver, err := st.CompareAndSwap(ctx, key, cur.Version, val, put)
		if err != nil {
			return AsConflict(err)
		}
		out = Entry{Key: key, Value: val, Version: ver}
		return nil
	})
	return out, err
}

// ErrSkip, returned by the change function of Update, leaves the key
// unchanged.
var ErrSkip = errors.New("no change")

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	// A context that has ended wins over a timer that has fired too
	// (select would pick either at random).
	if d <= 0 || ctx.Err() != nil {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
