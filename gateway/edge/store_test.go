package edge_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

func newStore(t *testing.T) *edge.Store {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return edge.New(st, edge.Options{})
}

func sample() config.Edge {
	return config.Edge{
		ACL:      config.ACLConfig{Deny: []string{"203.0.113.0/24"}},
		Limits:   []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "10r/s", Burst: 20}},
		Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:9001"}}}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop", Limits: []string{"per_ip"}}},
	}
}

func TestSeedWritesOnceAndKeepsAPIChanges(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	d, wrote, err := s.Seed(ctx, sample(), "config file")
	if err != nil || !wrote || d.Version != 1 {
		t.Fatalf("first seed: %v %v %+v", err, wrote, d)
	}
	if _, err := s.Update(ctx, "alice", "put limit api", func(e *config.Edge) error {
		e.Limits = append(e.Limits, config.LimitConfig{Name: "api", Key: "header:X-Api-Key", Rate: "1r/m"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d, wrote, err = s.Seed(ctx, sample(), "config file")
	if err != nil || wrote || d.Version != 2 || len(d.Limits) != 2 || d.UpdatedBy != "alice" {
		t.Fatalf("same file must keep the API change: %v %v %+v", err, wrote, d)
	}
	changed := sample()
	changed.Limits[0].Burst = 5
	d, wrote, err = s.Seed(ctx, changed, "config file")
	if err != nil || !wrote || d.Version != 3 || len(d.Limits) != 1 || d.Limits[0].Burst != 5 {
		t.Fatalf("changed file must win: %v %v %+v", err, wrote, d)
	}
	h, err := s.History(ctx, 10)
	if err != nil || len(h) != 3 || h[0].Version != 3 || h[1].By != "alice" || h[1].Action != "put limit api" {
		t.Fatalf("history: %v %+v", err, h)
	}
}

func TestUpdateRejectsInvalidConfigNamingTheField(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Seed(ctx, sample(), "file"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(e *config.Edge){
		"limits[0].rate":      func(e *config.Edge) { e.Limits[0].Rate = "0r/s" },
		"limits[0].burst":     func(e *config.Edge) { e.Limits[0].Burst = -1 },
		"limits[0].status":    func(e *config.Edge) { e.Limits[0].Status = 302 },
		"acl.deny[1]":         func(e *config.Edge) { e.ACL.Deny = append(e.ACL.Deny, "10.0.0.0/33") },
		"routes[0].limits[0]": func(e *config.Edge) { e.Limits = nil },
		"routes[0].service":   func(e *config.Edge) { e.Services = nil },
	}
	for field, mutate := range cases {
		_, err := s.Update(ctx, "bob", "bad", func(e *config.Edge) error { mutate(e); return nil })
		var fe *config.FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: got %v", field, err)
		}
	}
	d, _, _ := s.Get(ctx)
	if d.Version != 1 {
		t.Fatalf("a rejected change must not be written: version %d", d.Version)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Seed(ctx, sample(), "file"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.Update(ctx, "w", "deny", func(e *config.Edge) error {
				e.ACL.Deny = append(e.ACL.Deny, "10.0."+string(rune('0'+i))+".0/24")
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	d, _, _ := s.Get(ctx)
	if len(d.ACL.Deny) != 9 || d.Version != 9 {
		t.Fatalf("want 9 deny entries at version 9, got %d at %d", len(d.ACL.Deny), d.Version)
	}
}

func TestWatchSeesEveryVersion(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newStore(t)
	got := make(chan int64, 16)
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func(d edge.Doc) { got <- d.Version }) }()
	if _, _, err := s.Seed(ctx, sample(), "file"); err != nil {
		t.Fatal(err)
	}
	for v := int64(2); v <= 3; v++ {
		if _, err := s.Update(ctx, "w", "noop", func(e *config.Edge) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// The watch may start after some writes: it then sees the current version
	// first. Versions must only increase and the last one must arrive.
	last := int64(0)
	for last < 3 {
		select {
		case v := <-got:
			if v <= last {
				t.Fatalf("version %d after %d", v, last)
			}
			last = v
		case <-time.After(5 * time.Second):
			t.Fatalf("version 3 never arrived (last %d)", last)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
