package roomswitch

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T) store.Store {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func staged() rooms.SwitchSpec {
	return rooms.SwitchSpec{Service: "shop", Who: "ops", Why: "bj maintenance",
		From: map[string]int{"bj": 100, "sh": 0}, To: map[string]int{"bj": 0, "sh": 100},
		Fractions: []float64{0.1, 0.5, 1}, Interval: config.Duration(10 * time.Second)}
}

// current reads the records the way a node follows them.
func current(t *testing.T, s *Store) map[string]rooms.Record {
	t.Helper()
	r, _, err := s.Get(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]rooms.Record{"shop": r}
}

func TestStagedSwitchStepsOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	var done atomic.Int32
	var mu sync.Mutex
	var final map[string]int
	onDone := func(_ context.Context, r rooms.Record) error {
		done.Add(1)
		mu.Lock()
		final = r.Weights()
		mu.Unlock()
		return nil
	}
	nodes := make([]*Store, 3)
	for i := range nodes {
		nodes[i] = New(st, Options{Now: clk.Now, OnDone: onDone})
	}
	rec, err := nodes[0].Start(ctx, staged())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Current != 0 || !maps.Equal(rec.Weights(), map[string]int{"bj": 90, "sh": 10}) {
		t.Fatalf("first step not taken at start: %+v", rec)
	}
	if _, err := nodes[1].Start(ctx, staged()); !errors.Is(err, ErrActive) {
		t.Fatalf("second start: %v, want ErrActive", err)
	}
	want := []map[string]int{{"bj": 50, "sh": 50}, {"bj": 0, "sh": 100}}
	for step, w := range want {
		clk.Add(5 * time.Second)
		for _, n := range nodes {
			if got := n.Tick(ctx, current(t, n)); len(got) != 0 {
				t.Fatalf("step %d taken early: %+v", step+1, got)
			}
		}
		clk.Add(5 * time.Second)
		var wg sync.WaitGroup
		var steps atomic.Int32
		for _, n := range nodes {
			recs := current(t, n)
			wg.Go(func() { steps.Add(int32(len(n.Tick(ctx, recs)))) })
		}
		wg.Wait()
		if steps.Load() != 1 {
			t.Fatalf("step %d taken %d times", step+2, steps.Load())
		}
		got := current(t, nodes[0])["shop"]
		if !maps.Equal(got.Weights(), w) {
			t.Fatalf("after step %d: weights %v, want %v", step+2, got.Weights(), w)
		}
	}
	got := current(t, nodes[0])["shop"]
	// Nodes racing for the last step may each call OnDone (it is
	// idempotent); only one of them writes the record.
	if got.State != rooms.SwitchDone || done.Load() < 1 || done.Load() > 3 || !maps.Equal(final, map[string]int{"bj": 0, "sh": 100}) {
		t.Fatalf("end: state %s, OnDone called %d times with %v", got.State, done.Load(), final)
	}
	if eff := Effective(map[string]int{"bj": 100, "sh": 0}, got.EndedAt.Add(-time.Millisecond), &got); !maps.Equal(eff, final) {
		t.Fatalf("effective after done, before the policy change is seen: %v", eff)
	}
	if eff := Effective(map[string]int{"bj": 1, "sh": 1}, got.EndedAt.Add(time.Hour), &got); !maps.Equal(eff, map[string]int{"bj": 1, "sh": 1}) {
		t.Fatalf("a policy changed after the switch must win: %v", eff)
	}
	hist, err := nodes[2].History(ctx, "shop", 0)
	if err != nil || len(hist) != 1 || hist[0].State != rooms.SwitchDone || len(hist[0].Steps) != 3 {
		t.Fatalf("history %+v %v", hist, err)
	}
}

func TestPauseResumeAbort(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	s := New(newStore(t), Options{Now: clk.Now})
	if _, err := s.Act(ctx, "shop", ActPause, "ops", ""); !errors.Is(err, ErrNoSwitch) {
		t.Fatalf("pause without switch: %v", err)
	}
	if _, err := s.Start(ctx, staged()); err != nil {
		t.Fatal(err)
	}
	clk.Add(4 * time.Second)
	if _, err := s.Act(ctx, "shop", ActPause, "ops", "looks odd"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(ctx, "shop", ActPause, "ops", ""); !errors.Is(err, rooms.ErrWrongState) {
		t.Fatalf("second pause: %v", err)
	}
	clk.Add(time.Hour)
	if got := s.Tick(ctx, current(t, s)); len(got) != 0 {
		t.Fatal("a paused switch stepped")
	}
	if eff := Effective(map[string]int{"bj": 100}, clk.Now(), ptr(current(t, s)["shop"])); !maps.Equal(eff, map[string]int{"bj": 90, "sh": 10}) {
		t.Fatalf("paused switch's weights: %v", eff)
	}
	if _, err := s.Act(ctx, "shop", ActResume, "ops", ""); err != nil {
		t.Fatal(err)
	}
	clk.Add(5 * time.Second) // 4 s of the interval had passed before the pause
	if got := s.Tick(ctx, current(t, s)); len(got) != 0 {
		t.Fatal("resumed switch stepped before the rest of its interval")
	}
	clk.Add(time.Second)
	if got := s.Tick(ctx, current(t, s)); len(got) != 1 {
		t.Fatal("resumed switch did not step")
	}
	rec, err := s.Act(ctx, "shop", ActAbort, "ops", "rollback")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != rooms.SwitchAborted || !maps.Equal(Effective(map[string]int{"bj": 1}, time.Time{}, &rec), map[string]int{"bj": 100, "sh": 0}) {
		t.Fatalf("aborted: %+v", rec)
	}
	if _, err := s.Act(ctx, "shop", "explode", "ops", ""); err == nil {
		t.Fatal("unknown action accepted")
	}
	// A new switch may start once the last one ended.
	spec := staged()
	spec.Fractions = nil
	if rec, err := s.Start(ctx, spec); err != nil || rec.State != rooms.SwitchDone {
		t.Fatalf("immediate switch: %+v %v", rec, err)
	}
	if hist, _ := s.History(ctx, "shop", 0); len(hist) != 2 || hist[0].State != rooms.SwitchDone || hist[1].State != rooms.SwitchAborted {
		t.Fatalf("history newest first: %+v", hist)
	}
}

func TestOnDoneFailureKeepsTheLastStepPending(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	fail := atomic.Bool{}
	fail.Store(true)
	s := New(newStore(t), Options{Now: clk.Now, OnDone: func(context.Context, rooms.Record) error {
		if fail.Load() {
			return errors.New("store down")
		}
		return nil
	}})
	spec := staged()
	spec.Fractions = []float64{0.5, 1}
	if _, err := s.Start(ctx, spec); err != nil {
		t.Fatal(err)
	}
	clk.Add(10 * time.Second)
	if got := s.Tick(ctx, current(t, s)); len(got) != 0 {
		t.Fatal("stepped to done although OnDone failed")
	}
	if r := current(t, s)["shop"]; r.State != rooms.SwitchRunning || r.Current != 0 {
		t.Fatalf("after a failed OnDone: %+v", r)
	}
	fail.Store(false)
	if got := s.Tick(ctx, current(t, s)); len(got) != 1 || got[0].State != rooms.SwitchDone {
		t.Fatalf("retry: %+v", got)
	}
	// An immediate switch whose OnDone fails is not started at all.
	fail.Store(true)
	spec.Fractions = nil
	if _, err := s.Start(ctx, spec); err == nil {
		t.Fatal("immediate switch started though OnDone failed")
	}
}

func TestStartValidates(t *testing.T) {
	s := New(newStore(t), Options{})
	spec := staged()
	spec.Who = ""
	if _, err := s.Start(context.Background(), spec); err == nil {
		t.Fatal("a switch without who was started")
	}
	if got := s.ServiceOf(DefaultPrefix + "shop"); got != "shop" {
		t.Fatalf("ServiceOf: %q", got)
	}
	if got := s.ServiceOf("gateway/other/shop"); got != "" {
		t.Fatalf("ServiceOf foreign key: %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
