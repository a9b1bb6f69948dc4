package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wharfhq/wharf/internal/testenv"
)

func TestConsumerProcessesInParallel(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "par")
	p := newTestProducer(t, n.Addr)
	bodies := make([][]byte, 50)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, "m%d", i)
	}
	if err := p.MultiPublish(context.Background(), topic, bodies); err != nil {
		t.Fatal(err)
	}

	const want = 10
	var inProgress, maxInProgress, done atomic.Int64
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, MaxInFlight: 64,
		Handler: func(ctx context.Context, m *Message) error {
			cur := inProgress.Add(1)
			defer inProgress.Add(-1)
			for {
				old := maxInProgress.Load()
				if cur <= old || maxInProgress.CompareAndSwap(old, cur) {
					break
				}
			}
			// Hold the message until enough others run alongside it (or give
			// up), so the check below does not depend on sleeps being long enough.
			deadline := time.Now().Add(3 * time.Second)
			for maxInProgress.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			done.Add(1)
			return nil
		},
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		if d := done.Load(); d < 50 {
			return fmt.Errorf("%d of 50 processed", d)
		}
		return nil
	})
	if got := maxInProgress.Load(); got < want {
		t.Fatalf("at most %d handlers ran at once, want >= %d", got, want)
	}
	if st := c.Stats(); st.Processed != 50 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConsumerDeadLettersAfterMaxAttempts(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "dl")
	p := newTestProducer(t, n.Addr)

	var badCalls, flakyCalls, flakyOK atomic.Int64
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "work", NSQDAddrs: []string{n.Addr}, MaxAttempts: 3,
		Handler: func(ctx context.Context, m *Message) error {
			switch string(m.Body) {
			case "bad":
				badCalls.Add(1)
				return fmt.Errorf("boom on attempt %d", m.Attempts)
			case "flaky":
				if flakyCalls.Add(1) <= 2 {
					return errors.New("not yet")
				}
				flakyOK.Add(1)
				return nil
			}
			return fmt.Errorf("unexpected body %q", m.Body)
		},
	})

	var mu sync.Mutex
	var letters []DeadLetter
	startConsumer(t, ConsumerOptions{
		Topic: DeadLetterTopic(topic), Channel: "inspect", NSQDAddrs: []string{n.Addr},
		Handler: func(ctx context.Context, m *Message) error {
			d, err := DecodeDeadLetter(m.Body)
			if err != nil {
				return err
			}
			mu.Lock()
			letters = append(letters, d)
			mu.Unlock()
			return nil
		},
	})

	for _, b := range []string{"bad", "flaky"} {
		if err := p.Publish(context.Background(), topic, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(letters) == 0 || flakyOK.Load() == 0 {
			return fmt.Errorf("%d dead letters, flaky ok %d", len(letters), flakyOK.Load())
		}
		return nil
	})
	// The work channel holds nothing any more: no redelivery is pending.
	testenv.Eventually(t, 5*time.Second, func() error {
		st, err := nsqdChannelStats(n.HTTPAddr, topic, "work")
		if err != nil {
			return err
		}
		if st.Depth != 0 || st.InFlightCount != 0 || st.DeferredCount != 0 {
			return fmt.Errorf("work channel %+v", st)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // many requeue delays: a redelivery would show

	mu.Lock()
	defer mu.Unlock()
	if len(letters) != 1 {
		t.Fatalf("%d dead letters, want 1: %+v", len(letters), letters)
	}
	d := letters[0]
	if d.Topic != topic || d.Channel != "work" || d.Attempts != 3 || string(d.Body) != "bad" ||
		!strings.Contains(d.Error, "boom on attempt 3") || len(d.ID) != 16 || d.Timestamp.IsZero() ||
		d.DeadAt.Before(d.Timestamp) || d.NSQD == "" {
		t.Fatalf("dead letter %+v", d)
	}
	if got := badCalls.Load(); got != 3 {
		t.Fatalf("bad message handled %d times, want 3", got)
	}
	if got, ok := flakyCalls.Load(), flakyOK.Load(); got != 3 || ok != 1 {
		t.Fatalf("flaky message handled %d times, %d ok; want 3 and 1", got, ok)
	}
	st := c.Stats()
	if st.DeadLettered != 1 || st.Processed != 1 || st.Failed != 5 || st.Requeued != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConsumerRecoversFromPanic(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "panic")
	p := newTestProducer(t, n.Addr)
	var calls atomic.Int64
	set := metrics.NewSet()
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, RequeueDelay: -1, Metrics: set,
		Handler: func(ctx context.Context, m *Message) error {
			if calls.Add(1) == 1 {
				var nilMap map[string]int
				nilMap["boom"]++ // a real runtime panic
			}
			return nil
		},
	})
	if err := p.Publish(context.Background(), topic, []byte("x")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if st := c.Stats(); st.Processed != 1 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	if st := c.Stats(); st.Panics != 1 || st.Failed != 1 || st.Requeued != 1 {
		t.Fatalf("stats %+v", st)
	}
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	want := fmt.Sprintf(`wharf_bus_consumer_panics_total{topic=%q,channel="c"} 1`, topic)
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("metrics lack %s:\n%s", want, buf.String())
	}
}

func TestConsumerViaLookupd(t *testing.T) {
	l := testenv.StartNSQLookupd(t)
	n := testenv.StartNSQD(t, testenv.NSQDOptions{LookupdTCPAddrs: []string{l.Addr}})
	topic := testTopic(t, "lookup")
	p := newTestProducer(t, n.Addr)
	if err := p.Publish(context.Background(), topic, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	seen := newBodySet()
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", LookupdHTTPAddrs: []string{l.HTTPAddr},
		Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		if seen.count("hello") == 0 {
			return errors.New("message not consumed via nsqlookupd yet")
		}
		return nil
	})
}

func TestConsumerStopDrainsInFlight(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "drain")
	p := newTestProducer(t, n.Addr)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var finished atomic.Int64
	c, err := NewConsumer(ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, MaxInFlight: 4, StopTimeout: 5 * time.Second,
		Handler: func(ctx context.Context, m *Message) error {
			started <- struct{}{}
			<-release
			finished.Add(1)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.MultiPublish(context.Background(), topic, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	<-started
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while handlers were running", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if got := finished.Load(); got != 2 {
		t.Fatalf("%d handlers finished, want 2", got)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		st, err := nsqdChannelStats(n.HTTPAddr, topic, "c")
		if err != nil {
			return err
		}
		if st.Depth != 0 || st.InFlightCount != 0 {
			return fmt.Errorf("channel %+v: drained messages were not finished", st)
		}
		return nil
	})
}

func TestNewConsumerRejectsBadOptions(t *testing.T) {
	h := func(context.Context, *Message) error { return nil }
	cases := []ConsumerOptions{
		{Topic: "bad topic", Channel: "c", NSQDAddrs: []string{"x:1"}, Handler: h},
		{Topic: strings.Repeat("a", 64), Channel: "c", NSQDAddrs: []string{"x:1"}, Handler: h},
		{Topic: "t", Channel: "", NSQDAddrs: []string{"x:1"}, Handler: h},
		{Topic: "t", Channel: "c", Handler: h},
		{Topic: "t", Channel: "c", NSQDAddrs: []string{"x:1"}},
	}
	for i, o := range cases {
		if _, err := NewConsumer(o); err == nil || !strings.HasPrefix(err.Error(), "cannot create consumer") {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
}

// TestRunWithAnEndedContextStopsTheHandlers: go-nsq starts a consumer's
// handler goroutines when it is made, so a Run whose context ended before
// it started (a component undone at once) must still stop them.
func TestRunWithAnEndedContextStopsTheHandlers(t *testing.T) {
	c, err := NewConsumer(ConsumerOptions{Topic: "ended", Channel: "c", NSQDAddrs: []string{"127.0.0.1:1"}, MaxInFlight: 8,
		Handler: func(context.Context, *Message) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err == nil {
		t.Fatal("Run with an ended context: no error")
	}
	select {
	case <-c.nc.StopChan:
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer's handlers still run after Run returned")
	}
}

// A Run whose context is already done (its owner stopped right after
// starting it) stops the consumer: its handler goroutines end and it cannot
// be started afterwards.
func TestConsumerRunOnDoneContextStops(t *testing.T) {
	c, err := NewConsumer(ConsumerOptions{
		Topic: "run-done", Channel: "c", NSQDAddrs: []string{"127.0.0.1:9"},
		Handler: func(context.Context, *Message) error { return nil }, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err == nil {
		t.Fatal("Run on a done context returned nil")
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Run on a done context: %v, want ErrClosed", err)
	}
}

// TestStoppingConsumerDoesNotWarn: a consumer stopped on purpose closes its
// nsqd connections itself; go-nsq's "0 connections left alive" is then no
// warning (it stays one when nsqd goes away under a running consumer).
func TestStoppingConsumerDoesNotWarn(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var stopping atomic.Bool
	a := slogAdapter{l: log, stopping: stopping.Load}
	_ = a.Output(2, "WRN    1 [t/c] there are 0 connections left alive")
	stopping.Store(true)
	_ = a.Output(2, "WRN    2 [t/c] there are 0 connections left alive")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[1], "level=DEBUG") {
		t.Fatalf("log:\n%s", buf.String())
	}
}
