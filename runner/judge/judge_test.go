package judge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
	"github.com/wharfhq/wharf/runner/judge"
)

// webCPU is Falcon's worked example: all(#3)>90, max_step 3, default
// min_interval 300.
var webCPU = strategy.Strategy{
	ID: "web-cpu", Team: "shop", Metric: "cpu.busy", Tags: map[string]string{"core": "all"},
	Endpoints: []string{"web-*"}, Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3,
}

func cpu(ts int64, v float64) metric.Point {
	return metric.Point{Endpoint: "web-1", Metric: "cpu.busy", Tags: "core=all", CounterType: "GAUGE", Step: 60, Time: ts, Value: v}
}

var webCPUID = event.ID(event.PrefixStrategy, "web-cpu", event.PK("web-1", "cpu.busy", map[string]string{"core": "all"}))

// falconExample is what the worked example sends: PROBLEM at 120, 420,
// 720 (min_interval 300 after each), silence, OK at the first point <= 90.
var falconExample = []brief{
	{event.Problem, 1, 120}, {event.Problem, 2, 420}, {event.Problem, 3, 720}, {event.OK, 1, 960},
}

// feed pushes the example's point at ts (above 90 until 900, then 80)
// with the judges' clock at ts, and waits until it is judged.
func (e *env) feed(st store.Store, ts int64) {
	e.t.Helper()
	v := 95.0
	if ts > 900 {
		v = 80
	}
	e.clock.Store(ts)
	e.push(0, cpu(ts, v))
	e.judged(st, webCPUID, ts)
}

func TestFalconWorkedExample(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	e.startJudge(st, "j1", 1)
	problemKey := wire.ProblemKey("web-cpu", webCPUID)
	for ts := int64(0); ts <= 960; ts += 60 {
		e.feed(st, ts)
		if ts == 720 { // the open-problems view holds the third PROBLEM
			testenv.Eventually(t, 10*time.Second, func() error {
				en, err := st.Get(context.Background(), problemKey)
				if err != nil {
					return err
				}
				ev, err := event.Unmarshal(en.Value)
				if err != nil || ev.Status != event.Problem || ev.CurrentStep != 3 || ev.EventTime != 720 {
					return fmt.Errorf("open problem %+v (%v)", ev, err)
				}
				return nil
			})
		}
	}
	got := e.waitAlarms(len(falconExample))
	// The OK removed it from the view.
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := st.Get(context.Background(), problemKey); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("the recovered problem is still in the view: %v", err)
		}
		return nil
	})
	if !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want %v", got, falconExample)
	}
	e.mu.Lock()
	first := e.alarms[0]
	e.mu.Unlock()
	if first.ID != webCPUID || first.Team != "shop" || first.StrategyID != "web-cpu" || first.Version != event.Version {
		t.Fatalf("first event %+v", first)
	}
}

func TestRestartNeitherRepeatsNorLoses(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	_, stop := e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 480; ts += 60 {
		e.feed(st, ts)
	}
	stop()
	// A new judge (another node) picks the shard and the state up.
	e.startJudge(e.store(), "j2", 1)
	for ts := int64(540); ts <= 960; ts += 60 {
		e.feed(st, ts)
	}
	got := e.waitAlarms(len(falconExample))
	if !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want %v", got, falconExample)
	}
}

func TestBadBatchLosesNothing(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	e.startJudge(st, "j1", 1)
	if err := e.producer.Publish(context.Background(), "metrics.judge.0", []byte(`{"v":1,"points":[{`)); err != nil {
		t.Fatal(err)
	}
	for ts := int64(0); ts <= 960; ts += 60 {
		e.feed(st, ts)
	}
	if got := e.waitAlarms(len(falconExample)); !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want %v", got, falconExample)
	}
}

func TestDeletedStrategyResolves(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 120; ts += 60 {
		e.feed(st, ts)
	}
	e.clock.Store(200)
	if _, err := st.Delete(context.Background(), "monitor/strategies/web-cpu"); err != nil {
		t.Fatal(err)
	}
	got := e.waitAlarms(2)
	want := []brief{{event.Problem, 1, 120}, {event.OK, 1, 200}}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.alarms[1].Reason != event.ReasonResolved {
		t.Fatalf("reason %q", e.alarms[1].Reason)
	}
}

func TestTwoJudgesSplitAndTakeOver(t *testing.T) {
	e := newEnv(t)
	const shards = 4
	stA, stB := e.store(), e.store()
	a, _ := e.startJudge(stA, "a", shards)
	testenv.Eventually(t, 15*time.Second, func() error {
		if n := len(a.Owned()); n != shards {
			return fmt.Errorf("a owns %d shards", n)
		}
		return nil
	})
	b, _ := e.startJudge(stB, "b", shards)
	testenv.Eventually(t, 15*time.Second, func() error {
		oa, ob := a.Owned(), b.Owned()
		if len(oa) != shards/2 || len(ob) != shards/2 {
			return fmt.Errorf("a owns %v, b owns %v", oa, ob)
		}
		return nil
	})
	// a dies without releasing anything: its store connection is gone.
	_ = stA.Close()
	start := time.Now()
	testenv.Eventually(t, 15*time.Second, func() error {
		if ob := b.Owned(); len(ob) != shards {
			return fmt.Errorf("b owns %v", ob)
		}
		return nil
	})
	t.Logf("b took over a's shards after %v", time.Since(start).Round(time.Second))
	// a, cut off from the store, no longer consumes what it cannot renew.
	testenv.Eventually(t, 15*time.Second, func() error {
		if oa := a.Owned(); len(oa) != 0 {
			return fmt.Errorf("a still consumes %v", oa)
		}
		return nil
	})
}

func TestNoDataThenBack(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	s := webCPU
	s.NoData = 2
	e.putStrategy(st, s)
	e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 120; ts += 60 {
		e.clock.Store(ts)
		e.push(0, cpu(ts, 10))
		e.judged(st, webCPUID, ts)
	}
	e.clock.Store(300) // 3 steps of silence
	got := e.waitAlarms(1)
	if want := []brief{{event.NoData, 1, 300}}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	e.clock.Store(360)
	e.push(0, cpu(360, 10))
	got = e.waitAlarms(2)
	if want := []brief{{event.NoData, 1, 300}, {event.OK, 1, 360}}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// The nsqd of the alarms is down while events are decided: they wait in
// their state records in the store and arrive, once each, when it is back.
func TestAlarmsNSQDOutageLosesNothing(t *testing.T) {
	alarms := testenv.StartNSQD(t)
	e := newEnvAlarmsOn(t, testenv.StartNSQD(t), alarms)
	st := e.store()
	e.putStrategy(st, webCPU)
	e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 480; ts += 60 {
		e.feed(st, ts)
	}
	e.waitAlarms(2) // 120 and 420 delivered
	alarms.Stop()
	for ts := int64(540); ts <= 960; ts += 60 {
		e.feed(st, ts)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		n, err := judge.PendingEvents(context.Background(), st)
		if err != nil || n != 2 {
			return fmt.Errorf("%d events waiting in the judge states, want 2 (720, 960): %v", n, err)
		}
		return nil
	})
	alarms.Start()
	got := e.waitAlarms(len(falconExample))
	if !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want %v", got, falconExample)
	}
}

// A judge died after deciding events and before publishing them (its
// state records hold them): the judge that takes the shard publishes them
// without waiting for a new point, once each, and clears them.
func TestEventsOfADeadJudgePublishedByTheNextHolder(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	ctx := context.Background()
	for i, ts := range []int64{120, 420} {
		ev := event.Event{ID: fmt.Sprintf("s_dead_%d", i), Status: event.Problem, CurrentStep: 1, EventTime: ts, StrategyID: "dead"}
		b, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := judge.PutPending(ctx, st, ev.ID, 0, b); err != nil {
			t.Fatal(err)
		}
	}
	e.startJudge(st, "j2", 1)
	got := e.waitAlarms(2)
	if want := []brief{{event.Problem, 1, 120}, {event.Problem, 1, 420}}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		n, err := judge.PendingEvents(ctx, st)
		if err != nil || n != 0 {
			return fmt.Errorf("%d events still pending: %v", n, err)
		}
		return nil
	})
}
