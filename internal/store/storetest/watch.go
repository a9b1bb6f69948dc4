package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

// testWatchOrdering writes from several goroutines; the watcher must see every
// change under its prefix, with strictly increasing revisions, and nothing else.
func testWatchOrdering(t *testing.T, s store.Store) {
	const writers, perWriter = 4, 100
	ctx := testCtx(t)
	w := mustWatch(t, ctx, s, "w/", mustRevision(t, s))

	var mu sync.Mutex
	want := map[uint64]change{}
	record := func(c change) {
		mu.Lock()
		defer mu.Unlock()
		want[c.rev] = c
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				key := fmt.Sprintf("w/%d/%d", g, i%10)
				val := fmt.Appendf(nil, "%d-%d", g, i)
				rev, err := s.Put(ctx, key, val, store.PutOptions{})
				if err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				record(change{typ: store.EventPut, key: key, value: val, rev: rev})
				if i%5 == 4 {
					rev, err := s.Delete(ctx, key)
					if err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
					record(change{typ: store.EventDelete, key: key, rev: rev})
				}
				if _, err := s.Put(ctx, fmt.Sprintf("x/%d", g), val, store.PutOptions{}); err != nil {
					t.Errorf("Put outside the prefix: %v", err)
					return
				}
			}
		}()
	}
	total := writers * (perWriter + perWriter/5)
	got := make([]store.Event, 0, total)
	var last uint64
	for len(got) < total {
		ev := next(t, w)
		if ev.Err != nil {
			t.Fatalf("after %d events: error event %v", len(got), ev.Err)
		}
		if ev.Revision <= last {
			t.Fatalf("revision %d after %d: not strictly increasing", ev.Revision, last)
		}
		last = ev.Revision
		got = append(got, ev)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if len(want) != total {
		t.Fatalf("recorded %d changes, want %d", len(want), total)
	}
	for _, ev := range got {
		c, ok := want[ev.Revision]
		if !ok {
			t.Fatalf("unexpected event %s %q@%d", ev.Type, ev.Key, ev.Revision)
		}
		if err := c.check(ev); err != nil {
			t.Fatal(err)
		}
	}
}

// testWatchFromNow checks that store.FromNow starts at the current revision.
func testWatchFromNow(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	mustPut(t, s, "now/old", "old", store.PutOptions{})
	w := mustWatch(t, ctx, s, "now/", store.FromNow)
	v := mustPut(t, s, "now/new", "new", store.PutOptions{})
	if err := (change{typ: store.EventPut, key: "now/new", value: []byte("new"), rev: v}).check(next(t, w)); err != nil {
		t.Fatal(err)
	}
}

// testWatchFromZeroOnEmptyStore is the first start of a watcher on a new
// store: List answers revision 0, a write lands before the watch begins, and
// Watch from 0 must still deliver it (0 is "from the beginning", not "now").
func testWatchFromZeroOnEmptyStore(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	page, err := s.List(ctx, "z/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Revision != 0 || len(page.Entries) != 0 {
		t.Fatalf("empty store: List = %+v", page)
	}
	v := mustPut(t, s, "z/raced", "in between", store.PutOptions{})
	w := mustWatch(t, ctx, s, "z/", page.Revision)
	if err := (change{typ: store.EventPut, key: "z/raced", value: []byte("in between"), rev: v}).check(next(t, w)); err != nil {
		t.Fatal(err)
	}
}

// testWatchFromList lists a prefix while a writer races, then watches from the
// page's revision: applying the events to the page must give exactly the final
// state, with every change after the page delivered once.
func testWatchFromList(t *testing.T, s store.Store) {
	const writes = 400
	ctx := testCtx(t)
	for i := range 50 {
		mustPut(t, s, fmt.Sprintf("r/%02d", i), "seed", store.PutOptions{})
	}
	var mu sync.Mutex
	var changes []change
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range writes {
			if i == 20 {
				close(started)
			}
			key := fmt.Sprintf("r/%02d", i%70)
			var c change
			if i%7 == 3 {
				rev, err := s.Delete(ctx, key)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Errorf("Delete: %v", err)
					return
				}
				c = change{typ: store.EventDelete, key: key, rev: rev}
			} else {
				val := fmt.Appendf(nil, "v%d", i)
				rev, err := s.Put(ctx, key, val, store.PutOptions{})
				if err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				c = change{typ: store.EventPut, key: key, value: val, rev: rev}
			}
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}
	}()
	<-started
	page, err := s.List(ctx, "r/", store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	w := mustWatch(t, ctx, s, "r/", page.Revision)
	state := map[string]store.Entry{}
	for _, e := range page.Entries {
		state[e.Key] = e
	}
	<-done
	if t.Failed() {
		t.FailNow()
	}
	var rest []change
	for _, c := range changes {
		if c.rev > page.Revision {
			rest = append(rest, c)
		}
	}
	if len(rest) == 0 || len(rest) == len(changes) {
		t.Logf("List did not race the writer (%d of %d changes after the page)", len(rest), len(changes))
	}
	for _, c := range rest {
		ev := next(t, w)
		if err := c.check(ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == store.EventPut {
			state[ev.Key] = store.Entry{Key: ev.Key, Value: ev.Value, Version: ev.Revision}
		} else {
			delete(state, ev.Key)
		}
	}
	// Nothing more is pending: the next event is a fresh sentinel.
	sv := mustPut(t, s, "r/sentinel", "end", store.PutOptions{})
	if err := (change{typ: store.EventPut, key: "r/sentinel", value: []byte("end"), rev: sv}).check(next(t, w)); err != nil {
		t.Fatalf("duplicate or extra event: %v", err)
	}
	final := listAll(t, s, "r/", 30)
	if len(final) != len(state)+1 {
		t.Fatalf("final List has %d keys, replayed state %d (+ sentinel)", len(final), len(state))
	}
	for _, e := range final {
		if e.Key == "r/sentinel" {
			continue
		}
		r, ok := state[e.Key]
		if !ok || string(r.Value) != string(e.Value) || r.Version != e.Version {
			t.Fatalf("key %q: List has %q@%d, replay has %q@%d (present %v)", e.Key, e.Value, e.Version, r.Value, r.Version, ok)
		}
	}
}

// testWatchResume cancels a watch and starts a new one from the last revision
// seen: it must get exactly the changes made in between.
func testWatchResume(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	w := mustWatch(t, wctx, s, "res/", mustRevision(t, s))
	var last uint64
	for i := range 10 {
		key := fmt.Sprintf("res/%d", i)
		v := mustPut(t, s, key, "a", store.PutOptions{})
		if err := (change{typ: store.EventPut, key: key, value: []byte("a"), rev: v}).check(next(t, w)); err != nil {
			t.Fatal(err)
		}
		last = v
	}
	cancel()
	expectClosed(t, w)

	var want []change
	for i := range 10 {
		key := fmt.Sprintf("res/%d", i)
		if i%3 == 0 {
			rev, err := s.Delete(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, change{typ: store.EventDelete, key: key, rev: rev})
			continue
		}
		v := mustPut(t, s, key, "b", store.PutOptions{})
		want = append(want, change{typ: store.EventPut, key: key, value: []byte("b"), rev: v})
		mustPut(t, s, "other/"+key, "b", store.PutOptions{})
	}
	w = mustWatch(t, ctx, s, "res/", last)
	for _, c := range want {
		if err := c.check(next(t, w)); err != nil {
			t.Fatal(err)
		}
	}
	sv := mustPut(t, s, "res/sentinel", "end", store.PutOptions{})
	if err := (change{typ: store.EventPut, key: "res/sentinel", value: []byte("end"), rev: sv}).check(next(t, w)); err != nil {
		t.Fatalf("duplicate or extra event after resume: %v", err)
	}
}

// testWatchCancel checks that cancelling the context closes the channel, even
// when the watcher is not reading.
func testWatchCancel(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	w := mustWatch(t, wctx, s, "", store.FromNow)
	for i := range 200 {
		mustPut(t, s, fmt.Sprintf("cancel/%d", i), "v", store.PutOptions{})
	}
	cancel()
	expectClosed(t, w)
	// Writes go on unhindered after the watcher is gone.
	mustPut(t, s, "cancel/after", "v", store.PutOptions{})
}

// testWatchCompacted writes until the change log no longer holds the
// revision right after the first write; a watch from it must then report
// ErrCompacted and close.
func testWatchCompacted(t *testing.T, s store.Store) {
	const batch, maxWrites = 500, 100000
	ctx := testCtx(t)
	first := mustPut(t, s, "c/first", "v", store.PutOptions{})
	for written := 0; written < maxWrites; written += batch {
		for i := range batch {
			mustPut(t, s, fmt.Sprintf("c/%d", i%100), "v", store.PutOptions{})
		}
		wctx, cancel := context.WithCancel(ctx)
		w := mustWatch(t, wctx, s, "c/", first)
		ev := next(t, w)
		if errors.Is(ev.Err, store.ErrCompacted) {
			expectShut(t, w, store.ErrCompacted)
			cancel()
			// Watching from the current revision still works.
			w = mustWatch(t, ctx, s, "c/", mustRevision(t, s))
			v := mustPut(t, s, "c/last", "v", store.PutOptions{})
			if err := (change{typ: store.EventPut, key: "c/last", value: []byte("v"), rev: v}).check(next(t, w)); err != nil {
				t.Fatal(err)
			}
			return
		}
		cancel()
		if ev.Err != nil {
			t.Fatalf("after %d writes: error event %v, want ErrCompacted or the next change", written+batch, ev.Err)
		}
		if ev.Revision != first+1 {
			t.Fatalf("after %d writes: watch from %d starts at %d without ErrCompacted", written+batch, first, ev.Revision)
		}
	}
	t.Fatalf("no ErrCompacted after %d writes; configure a short change log for the suite", maxWrites)
}

// testClose checks that Close ends watches with ErrClosed and later calls fail.
func testClose(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	mustPut(t, s, "close/a", "v", store.PutOptions{})
	w := mustWatch(t, ctx, s, "", store.FromNow)
	idle := mustWatch(t, ctx, s, "nothing-here/", store.FromNow)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectErrThenClose(t, w, store.ErrClosed)
	expectErrThenClose(t, idle, store.ErrClosed)
	if _, err := s.Get(ctx, "close/a"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close: want ErrClosed, got %v", err)
	}
	if _, err := s.Put(ctx, "close/b", []byte("v"), store.PutOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Put after Close: want ErrClosed, got %v", err)
	}
	if _, err := s.List(ctx, "", store.ListOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("List after Close: want ErrClosed, got %v", err)
	}
	if _, err := s.Watch(ctx, "", store.FromNow); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Watch after Close: want ErrClosed, got %v", err)
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}
