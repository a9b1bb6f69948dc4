package judge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
	"github.com/wharfhq/wharf/runner/judge"
)

// env is a real redis-server and nsqd, a producer for point batches, a
// producer for the judges' events and a consumer of the alarms topic.
type env struct {
	t        *testing.T
	redis    *testenv.Redis
	nsqd     *testenv.NSQD
	producer *bus.Producer
	alarmsTo *bus.Producer
	clock    atomic.Int64 // the judges' clock, Unix seconds

	mu     sync.Mutex
	alarms []event.Event
}

func newEnv(t *testing.T) *env {
	t.Helper()
	nsqd := testenv.StartNSQD(t)
	return newEnvAlarmsOn(t, nsqd, nsqd)
}

// newEnvAlarmsOn is newEnv with the points on nsqd and the alarms (the
// judges' producer and the alarms consumer) on alarms.
func newEnvAlarmsOn(t *testing.T, nsqd, alarms *testenv.NSQD) *env {
	t.Helper()
	e := &env{t: t, redis: testenv.StartRedis(t), nsqd: nsqd}
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	e.producer = p
	ap := p
	if alarms != nsqd {
		if ap, err = bus.NewProducer(bus.ProducerOptions{Addrs: []string{alarms.Addr}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ap.Close() })
	}
	e.alarmsTo = ap
	c, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.AlarmsTopic, Channel: "test", NSQDAddrs: []string{alarms.Addr},
		MaxInFlight: 1,
		Handler: func(_ context.Context, m *bus.Message) error {
			ev, err := event.Unmarshal(m.Body)
			if err != nil {
				t.Errorf("bad alarm event %s: %v", m.Body, err)
				return nil
			}
			e.mu.Lock()
			e.alarms = append(e.alarms, ev)
			e.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return e
}

// store opens a new client of the redis store.
func (e *env) store() store.Store {
	e.t.Helper()
	st, err := redisstore.Open(context.Background(), redisstore.Options{Addr: e.redis.Addr})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

// putStrategy writes s to its store key as the strategies API would.
func (e *env) putStrategy(st store.Store, s strategy.Strategy) {
	e.t.Helper()
	if _, err := strategy.Compile(s); err != nil {
		e.t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), wire.StrategyKey(s.ID), b, store.PutOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// startJudge runs a judge until the returned stop is called (or the test ends).
func (e *env) startJudge(st store.Store, node string, shards int) (*judge.Judge, func()) {
	e.t.Helper()
	return e.startJudgeWith(st, node, shards, nil)
}

// startJudgeWith is startJudge with opts changed by tune (nil: unchanged).
func (e *env) startJudgeWith(st store.Store, node string, shards int, tune func(*judge.Options)) (*judge.Judge, func()) {
	e.t.Helper()
	opts := judge.Options{
		Store: st, Publisher: e.alarmsTo, NSQDAddrs: []string{e.nsqd.Addr}, Shards: shards,
		NodeID: node, MaxInFlight: 1, TickInterval: 50 * time.Millisecond,
		Now: func() time.Time { return time.Unix(e.clock.Load(), 0) },
	}
	if tune != nil {
		tune(&opts)
	}
	j, err := judge.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("judge %s: %v", node, err)
			}
		})
	}
	e.t.Cleanup(stop)
	return j, stop
}

// push publishes one point batch to shard's judge topic.
func (e *env) push(shard int, pts ...metric.Point) {
	e.t.Helper()
	if err := e.producer.Publish(context.Background(), wire.JudgeTopic(shard), metric.AppendBatch(nil, pts)); err != nil {
		e.t.Fatal(err)
	}
}

// judged waits until the state of eventID has a newest point at ts.
func (e *env) judged(st store.Store, eventID string, ts int64) {
	e.t.Helper()
	testenv.Eventually(e.t, 15*time.Second, func() error {
		s, err := judge.ReadState(context.Background(), st, eventID)
		if err != nil {
			return err
		}
		if n := len(s.Points); n == 0 || s.Points[n-1].T != ts {
			return fmt.Errorf("state not at %d yet", ts)
		}
		return nil
	})
}

// brief is an event reduced to what the worked example checks.
type brief struct {
	Status event.Status
	Step   int
	Time   int64
}

// waitAlarms waits for n events and returns them in arrival order.
func (e *env) waitAlarms(n int) []brief {
	e.t.Helper()
	var out []brief
	// go-nsq redials a lost nsqd every 15 s or so.
	testenv.Eventually(e.t, 40*time.Second, func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if len(e.alarms) < n {
			return fmt.Errorf("%d of %d alarms", len(e.alarms), n)
		}
		out = out[:0]
		for _, a := range e.alarms {
			out = append(out, brief{a.Status, a.CurrentStep, a.EventTime})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b brief) int { return int(a.Time - b.Time) })
	return out
}
