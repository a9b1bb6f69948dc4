// Package storetest is the conformance suite every store.Store engine must pass.
// An engine's tests call Run with a function that opens a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Timeouts the suite waits for asynchronous outcomes (events, expiry).
const (
	eventTimeout  = 10 * time.Second
	expiryTimeout = 10 * time.Second
)

// Run runs the conformance suite against the engine that open returns.
//
// open must return a fresh, empty store and close it in t.Cleanup (the suite
// may close it earlier; a second Close must be harmless). The store's change log
// should be short — about 1,000 entries: the compaction test writes until a
// watch from its first revision reports store.ErrCompacted (giving up after
// 100,000 writes), and no watcher elsewhere in the suite falls more than 1,000
// changes behind.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Basic", func(t *testing.T) { testBasic(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, open(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { testCAS(t, open(t)) })
	t.Run("ConcurrentCompareAndSwap", func(t *testing.T) { testConcurrentCAS(t, open(t)) })
	t.Run("Batch", func(t *testing.T) { testBatch(t, open(t)) })
	t.Run("CompareAndDelete", func(t *testing.T) { testCompareAndDelete(t, open(t)) })
	t.Run("TTL", func(t *testing.T) { testTTL(t, open(t)) })
	t.Run("TTLNeverReturnsExpired", func(t *testing.T) { testTTLNeverExpired(t, open(t)) })
	t.Run("ListPagination", func(t *testing.T) { testListPagination(t, open(t)) })
	t.Run("ListPrefixBoundaries", func(t *testing.T) { testListBoundaries(t, open(t)) })
	t.Run("WatchOrdering", func(t *testing.T) { testWatchOrdering(t, open(t)) })
	t.Run("WatchFromNow", func(t *testing.T) { testWatchFromNow(t, open(t)) })
	t.Run("WatchFromZeroOnEmptyStore", func(t *testing.T) { testWatchFromZeroOnEmptyStore(t, open(t)) })
	t.Run("WatchFromListRevision", func(t *testing.T) { testWatchFromList(t, open(t)) })
	t.Run("WatchResume", func(t *testing.T) { testWatchResume(t, open(t)) })
	t.Run("WatchCancel", func(t *testing.T) { testWatchCancel(t, open(t)) })
	t.Run("WatchCompacted", func(t *testing.T) { testWatchCompacted(t, open(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, open(t)) })
	t.Run("UpdateContention", func(t *testing.T) { testUpdateContention(t, open(t)) })
	t.Run("UpdateRaces", func(t *testing.T) { testUpdateRaces(t, open(t)) })
	t.Run("RetryDelete", func(t *testing.T) { testRetryDelete(t, open(t)) })
	t.Run("PagesBoundary", func(t *testing.T) { testPagesBoundary(t, open(t)) })
	t.Run("ScanClosed", func(t *testing.T) { testScanClosed(t, open(t)) })
}

// RunUnwatched runs the part of the suite that needs neither watches nor
// TTLs, for engines without them (store/logstore): values, versions,
// compare-and-swap and -delete, concurrency, listing, Retry and Update.
func RunUnwatched(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Basic", func(t *testing.T) { testBasic(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, open(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { testCAS(t, open(t)) })
	t.Run("ConcurrentCompareAndSwap", func(t *testing.T) { testConcurrentCAS(t, open(t)) })
	t.Run("CompareAndDelete", func(t *testing.T) { testCompareAndDelete(t, open(t)) })
	t.Run("ListPagination", func(t *testing.T) { testListPagination(t, open(t)) })
	t.Run("ListPrefixBoundaries", func(t *testing.T) { testListBoundaries(t, open(t)) })
	t.Run("UpdateContention", func(t *testing.T) { testUpdateContention(t, open(t)) })
	t.Run("UpdateRaces", func(t *testing.T) { testUpdateRaces(t, open(t)) })
	t.Run("RetryDelete", func(t *testing.T) { testRetryDelete(t, open(t)) })
	t.Run("PagesBoundary", func(t *testing.T) { testPagesBoundary(t, open(t)) })
	t.Run("ScanClosed", func(t *testing.T) { testScanClosed(t, open(t)) })
}

// testCtx returns a context that ends with the test or after a minute.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// change is a write the test made and expects Watch to report.
type change struct {
	typ   store.EventType
	key   string
	value []byte
	rev   uint64
}

func (c change) String() string {
	return fmt.Sprintf("%s %q@%d", c.typ, c.key, c.rev)
}

// check compares an event with the expected change.
func (c change) check(ev store.Event) error {
	if ev.Err != nil {
		return fmt.Errorf("want %v, got error event %v", c, ev.Err)
	}
	if ev.Type != c.typ || ev.Key != c.key || ev.Revision != c.rev || !bytes.Equal(ev.Value, c.value) {
		return fmt.Errorf("want %v value %q, got %s %q@%d value %q", c, c.value, ev.Type, ev.Key, ev.Revision, ev.Value)
	}
	if c.typ != store.EventPut && ev.Value != nil {
		return fmt.Errorf("%v: want nil value, got %q", c, ev.Value)
	}
	return nil
}

// next receives one event or fails the test.
func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed unexpectedly")
		}
		return ev
	case <-time.After(eventTimeout):
		t.Fatalf("no watch event within %v", eventTimeout)
	}
	return store.Event{}
}

// expectClosed drains ch and fails unless it closes, without an error event,
// within the event timeout.
func expectClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(eventTimeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if ev.Err != nil {
				t.Fatalf("unexpected error event before close: %v", ev.Err)
			}
		case <-deadline:
			t.Fatalf("watch channel not closed within %v", eventTimeout)
		}
	}
}

// expectErrThenClose fails unless the next event carries want and the channel closes right after.
func expectErrThenClose(t *testing.T, ch <-chan store.Event, want error) {
	t.Helper()
	ev := next(t, ch)
	if !errors.Is(ev.Err, want) {
		t.Fatalf("want error event %v, got %+v", want, ev)
	}
	expectShut(t, ch, want)
}

// expectShut fails unless ch is closed right after the error event want.
func expectShut(t *testing.T, ch <-chan store.Event, want error) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("want channel closed after %v, got %+v", want, ev)
		}
	case <-time.After(eventTimeout):
		t.Fatalf("channel not closed after %v", want)
	}
}

func mustPut(t *testing.T, s store.Store, key, value string, opts store.PutOptions) uint64 {
	t.Helper()
	v, err := s.Put(testCtx(t), key, []byte(value), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return v
}

func mustRevision(t *testing.T, s store.Store) uint64 {
	t.Helper()
	rev, err := s.Revision(testCtx(t))
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

func mustWatch(t *testing.T, ctx context.Context, s store.Store, prefix string, from uint64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(ctx, prefix, from)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, from, err)
	}
	return ch
}

// listAll pages through every key with the prefix.
func listAll(t *testing.T, s store.Store, prefix string, limit int) []store.Entry {
	t.Helper()
	var all []store.Entry
	after := ""
	for {
		p, err := s.List(testCtx(t), prefix, store.ListOptions{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("List(%q, after %q): %v", prefix, after, err)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			return all
		}
		after = p.Next
	}
}

func keysOf(entries []store.Entry) []string {
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}
