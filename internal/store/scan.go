package store

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// ScanOptions tunes Pages and Entries. The zero value lists
// DefaultListLimit entries per page with no timeout but ctx's.
type ScanOptions struct {
	// Limit is the page size (DefaultListLimit when zero).
	Limit int
	// PageTimeout bounds each List call; zero leaves it to ctx.
	PageTimeout time.Duration
	// After starts the scan after this key (exclusive); empty starts at
	// the prefix.
	After string
}

// Pages iterates over the pages of List(prefix), first to last. The
// first page's Revision is where a Watch of prefix continues from. On an
// error it yields the zero Page and List's error as it is (the caller
// says what it was listing) and stops; breaking out of the loop stops
// listing.
//
//	for page, err := range store.Pages(ctx, st, "apps/", store.ScanOptions{}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func Pages(ctx context.Context, st Store, prefix string, opts ScanOptions) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		after := opts.After
		for {
			page, err := listPage(ctx, st, prefix, ListOptions{After: after, Limit: opts.Limit}, opts.PageTimeout)
			if err == nil && page.Next != "" && page.Next <= after {
				err = fmt.Errorf("cannot list %q: the page after %q ends at %q, which does not move on", prefix, after, page.Next)
			}
			if err != nil {
				yield(Page{}, err)
				return
			}
			if !yield(page, nil) || page.Next == "" {
				return
			}
			after = page.Next
		}
	}
}

// Entries iterates over every entry of List(prefix), in key order, page
// by page (see Pages). On an error it yields the zero Entry and the
// error and stops.
//
//	for e, err := range store.Entries(ctx, st, "apps/", store.ScanOptions{}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func Entries(ctx context.Context, st Store, prefix string, opts ScanOptions) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for page, err := range Pages(ctx, st, prefix, opts) {
			if err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range page.Entries {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// listPage is one List call with its own timeout.
func listPage(ctx context.Context, st Store, prefix string, lo ListOptions, timeout time.Duration) (Page, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return st.List(ctx, prefix, lo)
}
