package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/store/storetest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// opener opens stores on one redis-server, each in its own namespace.
type opener struct {
	addr string
	n    atomic.Int64
}

func (o *opener) open(t *testing.T, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	opts.Addr = o.addr
	if opts.Namespace == "" {
		opts.Namespace = fmt.Sprintf("test%d", o.n.Add(1))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	o := &opener{addr: testenv.StartRedis(t).Addr}
	storetest.Run(t, func(t *testing.T) store.Store {
		return o.open(t, redisstore.Options{LogRetention: 1000})
	})
}

func TestOpenUnreachable(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, redisstore.Options{Addr: addr, OpTimeout: time.Second})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a dead address succeeded")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "cannot connect to redis") {
		t.Fatalf("error does not name the address: %v", err)
	}
}

// TestSharedNamespace checks that two clients on one namespace see each
// other's writes and both watchers get each change once, including expiries
// reaped by either client.
func TestSharedNamespace(t *testing.T) {
	o := &opener{addr: testenv.StartRedis(t).Addr}
	a := o.open(t, redisstore.Options{Namespace: "shared"})
	b := o.open(t, redisstore.Options{Namespace: "shared"})
	ctx := t.Context()
	wa, err := a.Watch(ctx, "", store.FromNow)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := b.Watch(ctx, "", store.FromNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Put(ctx, "k", []byte("v"), store.PutOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := b.Get(ctx, "k"); err != nil || e.Version != v {
		t.Fatalf("b.Get: %+v, %v", e, err)
	}
	for _, w := range []<-chan store.Event{wa, wb} {
		for _, want := range []store.EventType{store.EventPut, store.EventExpire} {
			select {
			case ev := <-w:
				if ev.Type != want || ev.Key != "k" {
					t.Fatalf("want %s of k, got %+v", want, ev)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s event", want)
			}
		}
	}
	if rev, err := b.Revision(ctx); err != nil || rev != v+1 {
		t.Fatalf("revision %d, %v; want %d (one expiry, not one per client)", rev, err, v+1)
	}
}
