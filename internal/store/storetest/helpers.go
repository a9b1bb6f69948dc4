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

// countingStore counts the List calls of a real store.
type countingStore struct {
	store.Store
	lists atomic.Int32
}

func (c *countingStore) List(ctx context.Context, prefix string, opts store.ListOptions) (store.Page, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, prefix, opts)
}

// testPagesBoundary: Pages and Entries see every key once when the keys
// fill whole pages, one more, or one less; breaking out stops listing.
func testPagesBoundary(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	const limit = 5
	mustPut(t, s, "scan", "outside", store.PutOptions{})
	mustPut(t, s, "scan0", "outside", store.PutOptions{})
	mustPut(t, s, "scao/x", "outside", store.PutOptions{})
	var want []string
	for _, n := range []int{limit - 1, limit, limit + 1, 2 * limit} {
		for len(want) < n {
			k := fmt.Sprintf("scan/%03d", len(want))
			mustPut(t, s, k, k, store.PutOptions{})
			want = append(want, k)
		}
		last := mustPut(t, s, "scan0", "outside", store.PutOptions{})
		var got []string
		pages := 0
		for page, err := range store.Pages(ctx, s, "scan/", store.ScanOptions{Limit: limit, PageTimeout: eventTimeout}) {
			if err != nil {
				t.Fatalf("%d keys: %v", n, err)
			}
			if pages == 0 && page.Revision < last {
				t.Fatalf("%d keys: first page at revision %d, before the last write %d", n, page.Revision, last)
			}
			if len(page.Entries) > limit {
				t.Fatalf("%d keys: page of %d", n, len(page.Entries))
			}
			pages++
			got = append(got, keysOf(page.Entries)...)
		}
		if !slices.Equal(got, want) || pages < (n+limit-1)/limit {
			t.Fatalf("%d keys in %d pages: %q", n, pages, got)
		}
		got = got[:0]
		for e, err := range store.Entries(ctx, s, "scan/", store.ScanOptions{Limit: limit}) {
			if err != nil {
				t.Fatalf("%d keys: %v", n, err)
			}
			if string(e.Value) != e.Key {
				t.Fatalf("entry %q = %q", e.Key, e.Value)
			}
			got = append(got, e.Key)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Entries of %d keys: %q", n, got)
		}
	}
	cs := &countingStore{Store: s}
	seen := 0
	for _, err := range store.Entries(ctx, cs, "scan/", store.ScanOptions{Limit: limit}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen++; seen == limit+1 {
			break
		}
	}
	if n := cs.lists.Load(); n != 2 {
		t.Fatalf("breaking after %d of %d entries made %d List calls, want 2", seen, len(want), n)
	}
	for _, err := range store.Entries(ctx, s, "nothing/", store.ScanOptions{}) {
		t.Fatalf("entry of an empty prefix (%v)", err)
	}
}

// testScanClosed: a scan of a closed store yields one error, ErrClosed.
func testScanClosed(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	mustPut(t, s, "closed/a", "x", store.PutOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range store.Entries(ctx, s, "closed/", store.ScanOptions{}) {
		if n++; !errors.Is(err, store.ErrClosed) {
			t.Fatalf("scan of a closed store: %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("%d results, want one error", n)
	}
}
