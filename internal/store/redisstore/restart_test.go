package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestWatchSurvivesRestart stops redis-server gracefully, then kills it, while
// a watch runs: writes during the outage fail, and the watcher reconnects by
// itself and delivers every change the server kept, in order, exactly once.
func TestWatchSurvivesRestart(t *testing.T) {
	r := testenv.StartRedis(t)
	o := &opener{addr: r.Addr}
	s := o.open(t, redisstore.Options{OpTimeout: time.Second, WatchBlock: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	w, err := s.Watch(ctx, "rs/", store.FromNow)
	if err != nil {
		t.Fatal(err)
	}

	type write struct {
		key string
		val []byte
		rev uint64
	}
	var want []write
	put := func(key string) error {
		val := []byte("v-" + key)
		rev, err := s.Put(ctx, key, val, store.PutOptions{})
		if err == nil {
			want = append(want, write{key, val, rev})
		}
		return err
	}
	delivered := 0
	expectDelivered := func(n int) {
		t.Helper()
		for ; delivered < n; delivered++ {
			select {
			case ev, ok := <-w:
				if !ok {
					t.Fatalf("watch closed after %d events", delivered)
				}
				c := want[delivered]
				if ev.Err != nil || ev.Type != store.EventPut || ev.Key != c.key || ev.Revision != c.rev || !bytes.Equal(ev.Value, c.val) {
					t.Fatalf("event %d: got %+v, want put %q@%d", delivered, ev, c.key, c.rev)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("event %d (%q@%d) not delivered", delivered, want[delivered].key, want[delivered].rev)
			}
		}
	}
	// putAfterOutage retries until the server takes writes again.
	putAfterOutage := func(key string) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() error { return put(key) })
	}

	for phase, outage := range []func(){r.Stop, r.Kill} {
		for i := range 20 {
			if err := put(fmt.Sprintf("rs/%d/before/%d", phase, i)); err != nil {
				t.Fatalf("phase %d: Put before outage: %v", phase, err)
			}
		}
		// Let the watcher get half-way, then pull the server away under it.
		expectDelivered(len(want) - 10)
		outage()
		for i := range 3 {
			if err := put(fmt.Sprintf("rs/%d/down/%d", phase, i)); err == nil {
				t.Fatalf("phase %d: Put succeeded while redis was down", phase)
			}
		}
		r.Start()
		putAfterOutage(fmt.Sprintf("rs/%d/after/0", phase))
		for i := 1; i < 20; i++ {
			if err := put(fmt.Sprintf("rs/%d/after/%d", phase, i)); err != nil {
				t.Fatalf("phase %d: Put after restart: %v", phase, err)
			}
		}
		expectDelivered(len(want))
	}
	// Nothing duplicated or extra: the next event is a fresh sentinel.
	if err := put("rs/sentinel"); err != nil {
		t.Fatal(err)
	}
	expectDelivered(len(want))
}
