package leases_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/leases"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

const (
	leasePrefix  = "test/leases/"
	memberPrefix = "test/members/"
)

// work records which member runs each shard; a shard started while
// another member runs it, or stopped after its lease was released, fails
// the test.
type work struct {
	t       *testing.T
	st      store.Store
	mu      sync.Mutex
	running map[int]string
	changes []string
	// unreachable: the store does not answer; Stop checks nothing in it.
	unreachable bool
}

func (w *work) manager(id string, prefer func(int) int64) *leases.Manager {
	w.t.Helper()
	m, err := leases.New(leases.Options{
		Store: w.st, LeasePrefix: leasePrefix, MemberPrefix: memberPrefix, NodeID: id, Shards: 5, Prefer: prefer,
		Start: func(_ context.Context, i int) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if other, ok := w.running[i]; ok {
				w.t.Errorf("%s starts shard %d, which %s runs", id, i, other)
			}
			w.running[i] = id
			return nil
		},
		Stop: func(i int) {
			// Stopped before the release: the lease is still there (ours,
			// or another holder's when it was lost).
			if !w.unreachable {
				if _, err := w.st.Get(context.Background(), leasePrefix+fmt.Sprint(i)); err != nil {
					w.t.Errorf("%s stops shard %d after its lease was released: %v", id, i, err)
				}
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.running[i] != id {
				w.t.Errorf("%s stops shard %d, which %q runs", id, i, w.running[i])
			}
			delete(w.running, i)
		},
		OnChange: func(change string, i int) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.changes = append(w.changes, fmt.Sprintf("%s %s %d", id, change, i))
		},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func newWork(t *testing.T) *work {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &work{t: t, st: st, running: map[int]string{}}
}

// TestEvenShareAndHandOver: a lone member takes every shard; a second
// one gets its even share once the first gives the excess back (each
// shard stopped before its lease is released, never run twice); a stop
// releases everything at once.
func TestEvenShareAndHandOver(t *testing.T) {
	w := newWork(t)
	ctx := context.Background()
	a, b := w.manager("a", nil), w.manager("b", nil)
	a.Balance(ctx)
	if got := a.Owned(); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("a alone owns %v", got)
	}
	b.Balance(ctx) // announces itself; everything is taken
	if got := b.Owned(); len(got) != 0 {
		t.Fatalf("b took %v from a", got)
	}
	a.Balance(ctx) // share 3: gives 3 and 4 back
	b.Balance(ctx)
	if ga, gb := a.Owned(), b.Owned(); !slices.Equal(ga, []int{0, 1, 2}) || !slices.Equal(gb, []int{3, 4}) {
		t.Fatalf("a %v, b %v", ga, gb)
	}
	if !b.Holds(3) || b.Holds(0) {
		t.Fatal("Holds disagrees with Owned")
	}
	h, err := leases.Holders(ctx, w.st, leasePrefix, 5)
	if err != nil || len(h) != 5 || string(h[0]) != "a" || string(h[4]) != "b" {
		t.Fatalf("holders %v %v", h, err)
	}
	b.ReleaseAll()
	if got := b.Owned(); len(got) != 0 {
		t.Fatalf("b owns %v after ReleaseAll", got)
	}
	a.Balance(ctx)
	if got := a.Owned(); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("a after b left owns %v", got)
	}
	want := []string{"a taken 0", "a taken 1", "a taken 2", "a taken 3", "a taken 4", "a released 3", "a released 4",
		"b taken 3", "b taken 4", "b stopped 3", "b stopped 4", "a taken 3", "a taken 4"}
	got := slices.Clone(w.changes)
	if len(got) == len(want) {
		slices.Sort(got[9:11]) // ReleaseAll stops its shards at once, in any order
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes\n got %q\nwant %q", got, want)
	}
}

// TestPreferredShardsFirst: free shards are taken by preference, and the
// excess given back is the least preferred.
func TestPreferredShardsFirst(t *testing.T) {
	w := newWork(t)
	ctx := context.Background()
	rank := map[int]int64{4: 3, 2: 2}
	a := w.manager("a", func(i int) int64 { return rank[i] })
	// Another member (taking nothing): a's share is 3 of 5.
	if _, err := w.st.Put(ctx, memberPrefix+"idle", []byte("idle"), store.PutOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	a.Balance(ctx)
	if got := a.Owned(); !slices.Equal(got, []int{0, 2, 4}) {
		t.Fatalf("a owns %v, want 4 and 2 first, then 0", got)
	}
	rank = map[int]int64{0: 5, 4: 4}
	if _, err := w.st.Put(ctx, memberPrefix+"idle2", []byte("idle2"), store.PutOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	a.Balance(ctx) // share 2 of 5: keeps 0 and 4
	if got := a.Owned(); !slices.Equal(got, []int{0, 4}) {
		t.Fatalf("a keeps %v, want 0 and 4", got)
	}
}

// TestLostLease: a lease another holder took is given up (its work
// stopped, the other's lease left alone).
func TestLostLease(t *testing.T) {
	w := newWork(t)
	ctx := context.Background()
	a := w.manager("a", nil)
	a.Balance(ctx)
	e, err := w.st.Get(ctx, leasePrefix+"2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.CompareAndSwap(ctx, leasePrefix+"2", e.Version, []byte("z"), store.PutOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	a.Balance(ctx)
	if a.Holds(2) {
		t.Fatal("a still holds shard 2")
	}
	if e, err := w.st.Get(ctx, leasePrefix+"2"); err != nil || string(e.Value) != "z" {
		t.Fatalf("z's lease: %v %v", e, err)
	}
	if !slices.Contains(w.changes, "a lost 2") {
		t.Fatalf("changes %q", w.changes)
	}
}

func TestOptionsRequired(t *testing.T) {
	w := newWork(t)
	ok := leases.Options{Store: w.st, LeasePrefix: leasePrefix, MemberPrefix: memberPrefix, NodeID: "a", Shards: 1,
		Start: func(context.Context, int) error { return nil }, Stop: func(int) {}}
	for name, mod := range map[string]func(*leases.Options){
		"store":  func(o *leases.Options) { o.Store = nil },
		"prefix": func(o *leases.Options) { o.LeasePrefix = "" },
		"shards": func(o *leases.Options) { o.Shards = 0 },
		"start":  func(o *leases.Options) { o.Start = nil },
		"node":   func(o *leases.Options) { o.NodeID = "" },
		"ttl":    func(o *leases.Options) { o.TTL = time.Millisecond },
	} {
		o := ok
		mod(&o)
		if _, err := leases.New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := leases.New(ok); err != nil {
		t.Fatal(err)
	}
}

// TestCutOffStopsBeforeTheLeasesExpire: with Redis frozen (a network cut:
// calls hang, nothing fails fast), a member stops the work of every shard
// while its leases still stand, so no other member can have taken them
// meanwhile.
func TestCutOffStopsBeforeTheLeasesExpire(t *testing.T) {
	redis := testenv.StartRedis(t)
	ctx := context.Background()
	open := func() store.Store {
		st, err := redisstore.Open(ctx, redisstore.Options{Addr: redis.Addr, Namespace: "wharf"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	w := &work{t: t, st: open(), running: map[int]string{}, unreachable: true}
	check := open()
	m := w.manager("a", nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := m.Owned(); len(got) != 5 {
			return fmt.Errorf("owns %v", got)
		}
		return nil
	})
	redis.Pause()
	t.Cleanup(redis.Resume)
	testenv.Eventually(t, 30*time.Second, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.running) != 0 {
			return fmt.Errorf("still runs %v", w.running)
		}
		return nil
	})
	redis.Resume()
	h, err := leases.Holders(ctx, check, leasePrefix, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 {
		t.Fatalf("only %d of 5 leases stood when the member had stopped every shard: %v", len(h), h)
	}
}
