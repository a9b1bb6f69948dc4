package nodes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func record(id string) nodes.Record {
	return nodes.Record{
		ID: id, Roles: []string{"gateway", "functions"}, Command: "serve", Version: "dev",
		StartedAt: time.Now().UTC(), Internal: "http://127.0.0.1:9090", Gateway: "http://127.0.0.1:8080",
	}
}

func TestHeartbeatAnnouncesRefreshesAndDeletes(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	var failing atomic.Pointer[[]string]
	failing.Store(&[]string{})
	var beats atomic.Int64
	hb, err := nodes.New(nodes.Options{
		Store: st, Record: record("a@127.0.0.1:9090"), Interval: 20 * time.Millisecond, TTL: time.Minute,
		Failing: func(context.Context) []string { beats.Add(1); return *failing.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Listed at once after Start, ready, with its TTL set.
	got, err := nodes.List(ctx, st, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %+v, %v", got, err)
	}
	if r := got[0]; r.ID != "a@127.0.0.1:9090" || !r.Ready || len(r.Failing) != 0 || r.Seen.IsZero() || !slices.Equal(r.Roles, []string{"gateway", "functions"}) || r.Gateway != "http://127.0.0.1:8080" {
		t.Fatalf("record %+v", r)
	}
	e, err := st.Get(ctx, nodes.Key("a@127.0.0.1:9090"))
	if err != nil || e.ExpiresAt.IsZero() || e.ExpiresAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("the record does not expire within the TTL: %+v %v", e, err)
	}
	// A failing check shows on the next refresh.
	failing.Store(&[]string{"redis"})
	waitFailing(t, st, "redis")
	if err := hb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Gone at once, and no refresh after Stop puts it back.
	n := beats.Load()
	if got, err := nodes.List(ctx, st, nil); err != nil || len(got) != 0 {
		t.Fatalf("after Stop: %+v, %v", got, err)
	}
	if _, err := st.Get(ctx, nodes.Key("a@127.0.0.1:9090")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record after Stop: %v", err)
	}
	if beats.Load() != n {
		t.Fatal("the heartbeat ran after Stop")
	}
}

// A node that starts failing a check (the config function still loading)
// and becomes ready a moment later is shown ready at once, not after a
// whole refresh interval; a probe that finds nothing changed writes nothing.
func TestReadinessChangeIsWrittenBeforeTheNextRefresh(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	var failing atomic.Pointer[[]string]
	failing.Store(&[]string{"config"})
	var probes atomic.Int64
	hb, err := nodes.New(nodes.Options{
		Store: st, Record: record("b@127.0.0.1:9090"), Interval: time.Hour, TTL: 2 * time.Hour, Probe: 40 * time.Millisecond,
		Failing: func(context.Context) []string { probes.Add(1); return *failing.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hb.Stop(ctx) })
	got, err := nodes.List(ctx, st, nil)
	if err != nil || len(got) != 1 || got[0].Ready || !slices.Equal(got[0].Failing, []string{"config"}) {
		t.Fatalf("first record: %+v, %v", got, err)
	}
	failing.Store(&[]string{})
	waitFailing(t, st)
	e1, err := st.Get(ctx, nodes.Key("b@127.0.0.1:9090"))
	if err != nil {
		t.Fatal(err)
	}
	// Several probes later, nothing changed: the record is the same write.
	n := probes.Load()
	testenv.Eventually(t, 10*time.Second, func() error {
		if probes.Load() < n+3 {
			return fmt.Errorf("%d probes", probes.Load()-n)
		}
		return nil
	})
	e2, err := st.Get(ctx, nodes.Key("b@127.0.0.1:9090"))
	if err != nil || e2.Version != e1.Version {
		t.Fatalf("an unchanged probe rewrote the record: version %d → %d (%v)", e1.Version, e2.Version, err)
	}
	// And a check that starts failing shows too, without a refresh.
	failing.Store(&[]string{"redis"})
	waitFailing(t, st, "redis")
}

// waitFailing waits until the store lists one node, ready when failing is
// empty, else failing exactly those checks.
func waitFailing(t *testing.T, st store.Store, failing ...string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		got, err := nodes.List(context.Background(), st, nil)
		if err != nil || len(got) != 1 || got[0].Ready != (len(failing) == 0) || !slices.Equal(got[0].Failing, failing) {
			return fmt.Errorf("List = %+v, %v; want failing %q", got, err, failing)
		}
		return nil
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	cases := []struct {
		name string
		opts nodes.Options
		want string
	}{
		{"no store", nodes.Options{Record: record("a@b")}, "no store"},
		{"interval not below ttl", nodes.Options{Store: st, Record: record("a@b"), TTL: time.Second, Interval: time.Second}, "shorter than the TTL"},
		{"bad record", nodes.Options{Store: st, Record: nodes.Record{ID: "a@b"}}, "roles"},
	}
	for _, c := range cases {
		if _, err := nodes.New(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestListSkipsRecordsItCannotRead(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	hb, err := nodes.New(nodes.Options{Store: st, Record: record("good@127.0.0.1:1"), Interval: time.Minute, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hb.Stop(context.Background()) })
	for key, val := range map[string]string{
		"nodes/junk":              "not json",
		"nodes/empty":             "{}",
		"nodes/other@127.0.0.1:2": `{"id":"elsewhere@1","roles":["gateway"],"command":"gateway","started_at":"2026-01-01T00:00:00Z","internal":"x","seen":"2026-01-01T00:00:00Z"}`,
	} {
		if _, err := st.Put(ctx, key, []byte(val), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := nodes.List(ctx, st, nil)
	if err != nil || len(got) != 1 || got[0].ID != "good@127.0.0.1:1" {
		t.Fatalf("List = %+v, %v", got, err)
	}
}
