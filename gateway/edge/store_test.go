package edge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

func newStore(t *testing.T) *edge.Store {
	t.Helper()
	s, _ := newStoreOver(t)
	return s
}

func newStoreOver(t *testing.T) (*edge.Store, store.Store) {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return edge.New(st, edge.Options{}), st
}

func sample() config.Edge {
	return config.Edge{
		ACL:      config.ACLConfig{Deny: []string{"203.0.113.0/24"}},
		Limits:   []config.LimitConfig{{Name: "per_ip", Key: "ip", Rate: "10r/s", Burst: 20}},
		Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: "127.0.0.1:9001"}}}},
		Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop", Limits: []string{"per_ip"}}},
	}
}

func TestSeedWritesOnlyAnEmptyStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	res, err := s.Seed(ctx, sample(), "seed:wharf.yaml")
	if err != nil || !res.Seeded || res.Doc.Version != 1 || res.Doc.UpdatedBy != "seed:wharf.yaml" {
		t.Fatalf("first seed: %v %+v", err, res)
	}
	if _, err := s.Update(ctx, "alice", "put limit api", func(e *config.Edge) error {
		e.Limits = append(e.Limits, config.LimitConfig{Name: "api", Key: "header:X-Api-Key", Rate: "1r/m"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The same file: the API change is kept; the file differs by that limit.
	res, err = s.Seed(ctx, sample(), "seed:wharf.yaml")
	if err != nil || res.Seeded || res.Doc.Version != 2 || len(res.Doc.Limits) != 2 || res.Doc.UpdatedBy != "alice" {
		t.Fatalf("same file must keep the API change: %v %+v", err, res)
	}
	if got := res.Diff.Summary(); got != "limit api removed" {
		t.Fatalf("diff of the file against the store: %s", got)
	}
	// A changed file does not overwrite the store either: it is reported.
	changed := sample()
	changed.Limits[0].Burst = 5
	res, err = s.Seed(ctx, changed, "seed:wharf.yaml")
	if err != nil || res.Seeded || res.Doc.Version != 2 || res.Doc.Limits[0].Burst != 20 {
		t.Fatalf("a changed file must not overwrite the store: %v %+v", err, res)
	}
	if got := res.Diff.Summary(); got != "limit per_ip changed (burst), limit api removed" {
		t.Fatalf("diff: %s", got)
	}
	// A file equal to the store is silent: no diff.
	same := sample()
	same.Limits = append(same.Limits, config.LimitConfig{Name: "api", Key: "header:X-Api-Key", Rate: "1r/m"})
	res, err = s.Seed(ctx, same, "seed:other.yaml")
	if err != nil || res.Seeded || !res.Diff.Empty() {
		t.Fatalf("identical file: %v %+v", err, res)
	}
	h, err := s.History(ctx, 10)
	if err != nil || len(h) != 2 || h[0].Version != 2 || h[0].By != "alice" || h[0].Action != "put limit api" || h[1].By != "seed:wharf.yaml" {
		t.Fatalf("history: %v %+v", err, h)
	}
}

func TestApplyComparesAndSetsTheVersion(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Seed(ctx, sample(), "seed:f"); err != nil {
		t.Fatal(err)
	}
	next := sample()
	next.Limits[0].Burst = 7
	// Made against version 0 while the store is at 1: refused, nothing written.
	_, err := s.Apply(ctx, "bob", "apply f", next, 0)
	var vc *edge.VersionConflict
	if !errors.As(err, &vc) || vc.Current != 1 || vc.Expected != 0 {
		t.Fatalf("stale apply: %v", err)
	}
	d, err := s.Apply(ctx, "bob", "apply f", next, 1)
	if err != nil || d.Version != 2 || d.Limits[0].Burst != 7 || d.Action != "apply f" {
		t.Fatalf("apply: %v %+v", err, d)
	}
	bad := sample()
	bad.Limits[0].Rate = "0r/s"
	var fe *config.FieldError
	if _, err := s.Apply(ctx, "bob", "apply bad", bad, 2); !errors.As(err, &fe) || !strings.Contains(err.Error(), "limits[0].rate") {
		t.Fatalf("invalid apply: %v", err)
	}
}

func TestRollbackWritesANewVersion(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Seed(ctx, sample(), "seed:f"); err != nil {
		t.Fatal(err)
	}
	for _, burst := range []int{3, 4} {
		if _, err := s.Update(ctx, "alice", "burst", func(e *config.Edge) error { e.Limits[0].Burst = burst; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	old, err := s.At(ctx, 1)
	if err != nil || old.Version != 1 || old.Limits[0].Burst != 20 || old.UpdatedBy != "seed:f" {
		t.Fatalf("version 1: %v %+v", err, old)
	}
	if cur, err := s.At(ctx, 3); err != nil || cur.Limits[0].Burst != 4 {
		t.Fatalf("version 3: %v %+v", err, cur)
	}
	if _, err := s.At(ctx, 9); !errors.Is(err, edge.ErrNoSuchVersion) {
		t.Fatalf("version 9: %v", err)
	}
	if _, err := s.Rollback(ctx, "carol", 1, 2); !errors.As(err, new(*edge.VersionConflict)) {
		t.Fatalf("stale rollback: %v", err)
	}
	d, err := s.Rollback(ctx, "carol", 1, 3)
	if err != nil || d.Version != 4 || d.Limits[0].Burst != 20 || d.Action != "rollback to version 1" {
		t.Fatalf("rollback: %v %+v", err, d)
	}
	h, err := s.History(ctx, 10)
	if err != nil || len(h) != 4 || h[0].Action != "rollback to version 1" || h[0].By != "carol" {
		t.Fatalf("history: %v %+v", err, h)
	}
	// Versions 2 and 3 are still there, unchanged.
	if v2, err := s.At(ctx, 2); err != nil || v2.Limits[0].Burst != 3 {
		t.Fatalf("version 2 after rollback: %v %+v", err, v2)
	}
}

func TestUpdateRejectsInvalidConfigNamingTheField(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Seed(ctx, sample(), "file"); err != nil {
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
	if _, err := s.Seed(ctx, sample(), "file"); err != nil {
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
	if _, err := s.Seed(ctx, sample(), "file"); err != nil {
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

// TestAVersionWhoseRecordWasLostIsKeptByTheNextWrite is a writer that died
// between the compare-and-swap and the history write: the newest version is
// still readable from the document, and the next write keeps it.
func TestAVersionWhoseRecordWasLostIsKeptByTheNextWrite(t *testing.T) {
	ctx := context.Background()
	s, st := newStoreOver(t)
	if _, err := s.Seed(ctx, sample(), "seed:f"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "alice", "burst", func(e *config.Edge) error { e.Limits[0].Burst = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{edge.DefaultVersionPrefix, edge.DefaultHistoryPrefix} {
		if _, err := st.Delete(ctx, fmt.Sprintf("%s%020d", k, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := s.History(ctx, 10); err != nil || len(h) != 2 || h[0].Version != 2 || h[0].By != "alice" {
		t.Fatalf("history with the newest record lost: %v %+v", err, h)
	}
	if d, err := s.At(ctx, 2); err != nil || d.Limits[0].Burst != 3 {
		t.Fatalf("newest version: %v %+v", err, d)
	}
	if _, err := s.Update(ctx, "bob", "burst", func(e *config.Edge) error { e.Limits[0].Burst = 4; return nil }); err != nil {
		t.Fatal(err)
	}
	if d, err := s.At(ctx, 2); err != nil || d.Limits[0].Burst != 3 || d.UpdatedBy != "alice" {
		t.Fatalf("version 2 after the next write: %v %+v", err, d)
	}
	if h, err := s.History(ctx, 10); err != nil || len(h) != 3 || h[1].Version != 2 || h[1].Action != "burst" {
		t.Fatalf("history: %v %+v", err, h)
	}
}
