package proxy

import (
	"testing"
	"time"
)

// TestTransportReuse rebuilds the service as a config reload would: the new
// route gets the same HostClient and the same keep-alive connection.
func TestTransportReuse(t *testing.T) {
	a := startUpstream(t, named200("a"))
	b := startUpstream(t, named200("b"))
	tr := NewTransport(Options{})
	r1 := tr.NewRoute(mustService(t, "shop", nil, a.addr), RouteConfig{})
	f := startFront(t, r1)
	if st, _ := get(t, f.addr, "/"); st != 200 {
		t.Fatal(st)
	}

	r2 := tr.NewRoute(mustService(t, "shop", nil, a.addr), RouteConfig{MaxBodyBytes: 1})
	if r1.clients[0] != r2.clients[0] {
		t.Fatal("rebuilt service got a new HostClient")
	}
	f.route.Store(r2)
	for range 3 {
		if st, _ := get(t, f.addr, "/"); st != 200 {
			t.Fatal(st)
		}
	}
	if n := a.accepted.Load(); n != 1 {
		t.Fatalf("upstream accepted %d connections across the reload, want 1", n)
	}

	// Different timeouts need their own pool.
	r3 := tr.NewRoute(mustService(t, "shop", nil, a.addr, b.addr), RouteConfig{ConnectTimeout: time.Second})
	if r3.clients[0] == r1.clients[0] {
		t.Fatal("route with its own connect timeout shares the default pool")
	}
	if got := len(tr.Stats()); got != 3 {
		t.Fatalf("%d pools, want 3: %+v", got, tr.Stats())
	}

	// a's default pool is used by no live route: Prune keeps it for the
	// grace period, PruneNow drops it and closes its idle connection.
	f.route.Store(r3)
	if n := tr.Prune(r3); n != 0 {
		t.Fatalf("Prune dropped %d pools inside the grace period", n)
	}
	old := r1.clients[0]
	if old.ConnsCount() != 1 {
		t.Fatalf("old pool has %d connections, want 1 idle", old.ConnsCount())
	}
	if n := tr.PruneNow(r3); n != 1 {
		t.Fatalf("PruneNow dropped %d pools, want 1", n)
	}
	if old.ConnsCount() != 0 {
		t.Fatalf("dropped pool still has %d connections", old.ConnsCount())
	}
	for _, s := range tr.Stats() {
		if s.ConnectTimeout != time.Second {
			t.Fatalf("unexpected pool left: %+v", s)
		}
	}
	// A route of the dropped pool still works on its own.
	f.route.Store(r1)
	if st, _ := get(t, f.addr, "/"); st != 200 {
		t.Fatal(st)
	}
	tr.Close()
	if len(tr.Stats()) != 0 {
		t.Fatal("Close left pools")
	}
}

func TestPruneGrace(t *testing.T) {
	tr := NewTransport(Options{PruneGrace: time.Nanosecond})
	r := tr.NewRoute(mustService(t, "shop", nil, "127.0.0.1:1"), RouteConfig{})
	if n := tr.Prune(r); n != 0 {
		t.Fatalf("live pool pruned: %d", n)
	}
	// The first Prune that finds the pool unused starts its grace period.
	tr.Prune()
	time.Sleep(2 * time.Millisecond)
	if n := tr.Prune(); n != 1 {
		t.Fatalf("pruned %d after the grace period, want 1", n)
	}
}
