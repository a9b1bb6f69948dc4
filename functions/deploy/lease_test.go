package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

// leaseOwner is the instance holding the deploy's lease, or "".
func leaseOwner(t *testing.T, e *env, id string) string {
	t.Helper()
	en, err := e.st.Get(e.ctx, deploy.LeaseKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Owner string }
	if err := json.Unmarshal(en.Value, &v); err != nil {
		t.Fatal(err)
	}
	return v.Owner
}

// TestTwoInstancesOneDriver: two functions share the store and nsqd and
// both consume events; only the lease holder steps the deploy, and when it
// stops the other finishes the deploy.
func TestTwoInstancesOneDriver(t *testing.T) {
	e := newEnv(t, envOptions{redis: true}) // the gateway's instance only serves the API
	e.push("shop", "1.0.0")
	sets := map[string]*metrics.Set{"a": metrics.NewSet(), "b": metrics.NewSet()}
	stops := map[string]func(){}
	for name, set := range sets {
		fn := e.newFn(func(o *deploy.Options) { o.Instance = name }, set)
		stops[name] = e.run(fn)
	}
	h1, h2 := e.startAgent("h1", "bj", healthy), e.startAgent("h2", "bj", healthy)
	h1.holdDeploys("1.0.0")

	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1","h2"]},"strategy":{"kind":"rolling","batch":1}}`)
	waitFor(t, func() bool { return len(h1.gotFor(d.ID)) == 1 })
	holder := leaseOwner(t, e, d.ID)
	other := map[string]string{"a": "b", "b": "a"}[holder]
	if other == "" {
		t.Fatalf("lease held by %q", holder)
	}
	// While h1 sits on its task, the holder renews the lease and the other
	// instance never steps the deploy.
	time.Sleep(1500 * time.Millisecond)
	if got := leaseOwner(t, e, d.ID); got != holder {
		t.Fatalf("lease moved from %s to %q", holder, got)
	}
	if n := counter(sets[holder], "steps_total"); n == 0 {
		t.Fatal("the holder never stepped the deploy")
	}
	if n, m := counter(sets[other], "steps_total"), counter(sets[other], "tasks_sent_total"); n != 0 || m != 0 {
		t.Fatalf("instance %s stepped %d times and sent %d tasks without the lease", other, n, m)
	}

	// The holder stops cleanly and lets go of its lease; the other takes
	// over, gets h1's events and sends h2 its task.
	stops[holder]()
	if got := leaseOwner(t, e, d.ID); got == holder {
		t.Fatalf("lease still held by the stopped instance %s", holder)
	}
	h1.release()
	v := e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
	if v.Targets[1].Host != "h2" || v.Targets[1].State != wire.PhaseHealthy {
		t.Fatalf("targets %+v", v.Targets)
	}
	if counter(sets[other], "leases_taken_total") == 0 || counter(sets[other], "tasks_sent_total") == 0 {
		t.Fatalf("instance %s did not take over", other)
	}
	if got := h2.gotFor(d.ID); len(got) != 1 {
		t.Fatalf("h2 got %v", got)
	}
	// Done: the lease is gone.
	testenv.Eventually(t, 5*time.Second, func() error {
		if o := leaseOwner(t, e, d.ID); o != "" {
			return fmt.Errorf("lease of a done deploy held by %s", o)
		}
		return nil
	})
}

// TestLeaseLapses: a lease whose holder died (never renewed) lapses after
// its TTL, and then another instance drives the deploy.
func TestLeaseLapses(t *testing.T) {
	e := newEnv(t, envOptions{redis: true})
	e.push("shop", "1.0.0")
	e.startAgent("h1", "bj", healthy)
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	ghost, _ := json.Marshal(map[string]any{"owner": "ghost", "at": time.Now()})
	if _, err := e.st.CompareAndSwap(e.ctx, deploy.LeaseKey(d.ID), 0, ghost, store.PutOptions{TTL: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	set := metrics.NewSet()
	e.run(e.newFn(nil, set))
	time.Sleep(time.Second)
	if v := e.show(d.ID); v.State != plan.StatePending || counter(set, "steps_total") != 0 {
		t.Fatalf("driven under another's lease: %s, %d steps", v.State, counter(set, "steps_total"))
	}
	e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("driven after %s, before the lease lapsed", took)
	}
}
