package ab_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestChangesAreLiveOnEveryNode: two nodes of the function share one
// Redis; an experiment started through one is decided by the other
// without any request to it in between (its snapshot follows the store's
// watch), and so is a stop.
func TestChangesAreLiveOnEveryNode(t *testing.T) {
	a := newServer(t, "redis")
	b := a.secondNode(t)
	a.running(t, "", "button", 0, 0)
	start := time.Now()
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := b.do(t, "GET", "/fn/ab/decide/button?unit=u1", "team", ""); r.Status != 200 {
			return fmt.Errorf("node b: %s", r)
		}
		return nil
	})
	t.Logf("started through node a, live on node b after %v", time.Since(start))
	a.must(t, 200, "POST", "/fn/ab/experiments/shop/button/stop", "team", "")
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := b.do(t, "GET", "/fn/ab/decide/button?unit=u1", "team", ""); r.Status != 404 {
			return fmt.Errorf("node b still decides a stopped experiment: %s", r)
		}
		return nil
	})
}

// secondNode is another function and gateway over s's store and tokens.
func (s *server) secondNode(t *testing.T) *server {
	t.Helper()
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{s.nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	fn, err := ab.New(ab.Options{Store: s.st, Publisher: prod, FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-fn.Ready()
	mux := fnapi.NewMux(auth.NewService(s.st), nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	n := *s
	n.fn, n.mux = fn, mux
	n.addr = gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	return &n
}

// TestLiveSRMFlag: exposures far from the configured split flag the
// experiment on GET (p < 0.001 with enough units); a split that matches
// does not; results check the split of the exposed units, not of the
// decisions.
func TestLiveSRMFlag(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "", "button", 0, 0)
	ctx := context.Background()
	key := ab.ExposureKey(decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", "")).Experiment)
	if _, err := s.st.Put(ctx, key, []byte(`{"counts":[1000,800]}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", ""))
	if !v.SRM.Flagged || v.SRM.P > 1e-4 || v.SRM.Exposures < 1800 {
		t.Fatalf("a 1000/800 split of a 50/50 experiment: %+v", v.SRM)
	}
	res := decode[ab.Results](t, s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", ""))
	if res.SRM.Flagged || res.SRM.Exposures != 1 {
		t.Fatalf("results: %+v, want the split of the one exposed unit (probe)", res.SRM)
	}
	if _, err := s.st.Put(ctx, key, []byte(`{"counts":[1000,990]}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", "")); v.SRM.Flagged {
		t.Fatalf("a 1000/990 split: %+v", v.SRM)
	}
}
