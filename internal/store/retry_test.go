package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// TestRetryExhausted: an attempt that always conflicts runs Attempts
// times, and the error says so, wrapping ErrContention and the conflict.
func TestRetryExhausted(t *testing.T) {
	t.Parallel()
	n := 0
	err := store.Retry(t.Context(), store.RetryOptions{Attempts: 4}, func(context.Context) error {
		n++
		return fmt.Errorf("cannot swap: %w", store.ErrConflict)
	})
	if n != 4 || !errors.Is(err, store.ErrContention) || !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("%d attempts: %v", n, err)
	}
}

// TestRetryStopsOnOtherResults: nil and errors other than a conflict end
// Retry at once, as they are; ErrNotFound too unless AsConflict maps it.
func TestRetryStopsOnOtherResults(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, want := range []error{nil, boom, store.ErrNotFound} {
		n := 0
		err := store.Retry(t.Context(), store.RetryOptions{}, func(context.Context) error { n++; return want })
		if n != 1 || err != want {
			t.Fatalf("%v: %d attempts, %v", want, n, err)
		}
	}
	if err := store.AsConflict(store.ErrNotFound); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AsConflict(ErrNotFound) = %v", err)
	}
	if err := store.AsConflict(boom); err != boom {
		t.Fatalf("AsConflict(boom) = %v", err)
	}
}

// TestRetryContext: a context that ends while Retry waits ends it with
// the context's error, without another attempt.
func TestRetryContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err := store.Retry(ctx, store.RetryOptions{Attempts: 100}, func(context.Context) error {
		n++
		cancel()
		return store.ErrConflict
	})
	if n != 1 || !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrContention) {
		t.Fatalf("%d attempts: %v", n, err)
	}
}

// TestRetryNested: an inner Retry that gave up under contention is not
// retried by the outer one (attempts would multiply).
func TestRetryNested(t *testing.T) {
	t.Parallel()
	inner, outer := 0, 0
	err := store.Retry(t.Context(), store.RetryOptions{Attempts: 3}, func(ctx context.Context) error {
		outer++
		return store.Retry(ctx, store.RetryOptions{Attempts: 3}, func(context.Context) error {
			inner++
			return store.ErrConflict
		})
	})
	if outer != 1 || inner != 3 || !errors.Is(err, store.ErrContention) {
		t.Fatalf("outer %d, inner %d attempts: %v", outer, inner, err)
	}
}
