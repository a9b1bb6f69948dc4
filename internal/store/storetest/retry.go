package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// testUpdateContention: several goroutines increment one counter with
// store.Update; no increment is lost and each is written once.
func testUpdateContention(t *testing.T, s store.Store) {
	const workers, each = 8, 25
	ctx := testCtx(t)
	opts := store.RetryOptions{Attempts: 10 * workers * each}
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				calls := 0
				_, err := store.Update(ctx, s, "retry/counter", opts, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
					calls++
					n := 0
					if ok {
						n, _ = strconv.Atoi(string(cur.Value))
					}
					return []byte(strconv.Itoa(n + 1)), store.PutOptions{}, nil
				})
				conflicts.Add(int64(calls - 1))
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	e, err := s.Get(ctx, "retry/counter")
	if err != nil || string(e.Value) != strconv.Itoa(workers*each) {
		t.Fatalf("counter %q (%v) after %d increments", e.Value, err, workers*each)
	}
	t.Logf("%d increments, %d conflicts retried", workers*each, conflicts.Load())
}

// testUpdateRaces forces each race Update handles: a writer between the
// read and the compare-and-swap, a delete between them, and a skip.
func testUpdateRaces(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	key := "retry/race"
	mustPut(t, s, key, "1", store.PutOptions{})
	var seen []string
	e, err := store.Update(ctx, s, key, store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		seen = append(seen, fmt.Sprintf("%s/%v", cur.Value, ok))
		switch len(seen) {
		case 1: // another writer gets in first
			mustPut(t, s, key, "2", store.PutOptions{})
		case 2: // and another deletes it
			if _, err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		return append([]byte("after "), cur.Value...), store.PutOptions{}, nil
	})
	if err != nil || !slices.Equal(seen, []string{"1/true", "2/true", "/false"}) || string(e.Value) != "after " {
		t.Fatalf("Update saw %q, wrote %q, %v", seen, e.Value, err)
	}
	if got, err := s.Get(ctx, key); err != nil || got.Version != e.Version || string(got.Value) != "after " {
		t.Fatalf("stored %+v %v, Update returned version %d", got, err, e.Version)
	}
	skipped, err := store.Update(ctx, s, key, store.RetryOptions{}, func(store.Entry, bool) ([]byte, store.PutOptions, error) {
		return nil, store.PutOptions{}, store.ErrSkip
	})
	if err != nil || skipped.Version != e.Version {
		t.Fatalf("skip: %+v %v", skipped, err)
	}
	boom := errors.New("boom")
	if _, err := store.Update(ctx, s, key, store.RetryOptions{}, func(store.Entry, bool) ([]byte, store.PutOptions, error) {
		return nil, store.PutOptions{}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("change's error: %v", err)
	}
}

// testRetryDelete: Retry around a compare-and-delete, with a writer in
// between, deletes the key as the second attempt read it.
func testRetryDelete(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	key := "retry/del"
	mustPut(t, s, key, "v1", store.PutOptions{})
	attempts := 0
	err := store.Retry(ctx, store.RetryOptions{}, func(ctx context.Context) error {
		attempts++
		e, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		if attempts == 1 {
			mustPut(t, s, key, "v2", store.PutOptions{})
		}
		_, err = s.CompareAndDelete(ctx, key, e.Version)
		return store.AsConflict(err)
	})
	if err != nil || attempts != 2 {
		t.Fatalf("Retry: %v after %d attempts", err, attempts)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key left: %v", err)
	}
}
