package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

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
