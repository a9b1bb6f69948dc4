package adaptive

import (
	"math"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

type fakeClock struct{ ns int64 }

func (c *fakeClock) now() int64              { return c.ns }
func (c *fakeClock) advance(d time.Duration) { c.ns += int64(d) }

// newTest returns a limiter on a fake clock whose re-measure draws return
// draw (so the first re-measure starts at 25 s + draw).
func newTest(t *testing.T, opts Options, draw time.Duration) (*Limiter, *fakeClock) {
	t.Helper()
	c := &fakeClock{}
	opts.Clock = c.now
	opts.Rand = func(n int64) int64 { return min(int64(draw), n-1) }
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// feed runs n requests one after another: each is admitted, the clock
// moves by step, and it is released with latency lat.
func feed(t *testing.T, l *Limiter, c *fakeClock, n int, step, lat time.Duration, failed bool) {
	t.Helper()
	for range n {
		if !l.Acquire() {
			t.Fatalf("Acquire refused with %d in flight, limit %d", l.InFlight(), l.Limit())
		}
		c.advance(step)
		l.Release(lat, failed)
	}
}

// fullWindow feeds exactly one full window of 200 samples.
func fullWindow(t *testing.T, l *Limiter, c *fakeClock, step, lat time.Duration) {
	t.Helper()
	before := l.Stats().Windows
	feed(t, l, c, 200, step, lat, false)
	if l.Stats().Windows != before+1 {
		t.Fatalf("200 samples did not close exactly one window")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// wantLimit checks limit = min_latency × max_qps × (1 + explore).
func wantLimit(t *testing.T, l *Limiter) {
	t.Helper()
	s := l.Stats()
	want := max(int(s.MinLatency.Seconds()*s.MaxQPS*(1+s.ExploreRatio)), DefaultMinLimit)
	if s.Limit != want {
		t.Fatalf("limit %d, want min latency %v × max qps %.1f × (1 + %.2f) = %d", s.Limit, s.MinLatency, s.MaxQPS, s.ExploreRatio, want)
	}
}

func TestWindowClosesAt200Samples(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	feed(t, l, c, 199, ms, 50*ms, false)
	if s := l.Stats(); s.Windows != 0 || s.Limit != DefaultInitialLimit {
		t.Fatalf("after 199 samples in 199 ms: %+v", s)
	}
	feed(t, l, c, 1, ms, 50*ms, false)
	s := l.Stats()
	if s.Windows != 1 || s.MinLatency != 50*ms {
		t.Fatalf("200th sample: %+v", s)
	}
	// 200 successes from the first sample at 1 ms to the last at 200 ms.
	if !near(s.MaxQPS, 200/0.199) {
		t.Fatalf("max qps %f, want %f", s.MaxQPS, 200/0.199)
	}
	wantLimit(t, l)
}

func TestWindowClosesAfterOneSecond(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	// First sample at 7 ms opens the window; sample k is (k-1)×7 ms later.
	feed(t, l, c, 143, 7*ms, 10*ms, false) // 994 ms old
	if l.Stats().Windows != 0 {
		t.Fatal("window closed before 1 s with 143 samples")
	}
	feed(t, l, c, 1, 7*ms, 10*ms, false) // 1001 ms, 144 samples
	if s := l.Stats(); s.Windows != 1 || s.Discarded != 0 {
		t.Fatalf("1 s with 144 samples: %+v", s)
	}
}

func TestSmallWindowDiscarded(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	feed(t, l, c, 41, 25*ms, 10*ms, false) // 41 samples, 1000 ms
	s := l.Stats()
	if s.Discarded != 1 || s.Windows != 0 || s.Limit != DefaultInitialLimit || s.MinLatency != 0 {
		t.Fatalf("1 s with 41 samples: %+v, want discarded and nothing learnt", s)
	}
	// The next window starts afresh at the discarding sample.
	feed(t, l, c, 200, ms, 10*ms, false)
	if s := l.Stats(); s.Windows != 1 {
		t.Fatalf("after a discarded window: %+v", s)
	}
}

func TestSampleInterval(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	// Responses 50 µs apart: every other one is sampled.
	feed(t, l, c, 398, 50*time.Microsecond, 10*ms, false)
	if s := l.Stats(); s.Windows != 0 {
		t.Fatalf("398 responses 50 µs apart (199 sampled) closed a window: %+v", s)
	}
	feed(t, l, c, 1, 50*time.Microsecond, 10*ms, false)
	s := l.Stats()
	if s.Windows != 1 {
		t.Fatalf("399 responses 50 µs apart: %+v, want one window of 200 samples", s)
	}
	// QPS counts every success, sampled or not: 399 in 19.9 ms.
	if s.MaxQPS < 19000 || s.MaxQPS > 21000 {
		t.Fatalf("max qps %.0f, want about 20000", s.MaxQPS)
	}
}

func TestMinLatencyOnlyMovesDown(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	fullWindow(t, l, c, ms, 10*ms)
	fullWindow(t, l, c, ms, 20*ms)
	if got := l.Stats().MinLatency; got != 10*ms {
		t.Fatalf("after a slower window min latency %v, want 10ms", got)
	}
	fullWindow(t, l, c, ms, 5*ms)
	if got := l.Stats().MinLatency; got != 9500*time.Microsecond {
		t.Fatalf("after a 5 ms window min latency %v, want 0.1×5 + 0.9×10 = 9.5ms", got)
	}
	wantLimit(t, l)
}

func TestMaxQPSRisesAtOnceDecaysSlowly(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	fullWindow(t, l, c, ms, 10*ms)   // opened at the first sample: 200 / 0.199 s
	fullWindow(t, l, c, ms/2, 10*ms) // 200 in 100 ms
	if got := l.Stats().MaxQPS; !near(got, 2000) {
		t.Fatalf("max qps %f, want 2000 at once", got)
	}
	fullWindow(t, l, c, ms, 10*ms) // 200 in 200 ms
	if got, want := l.Stats().MaxQPS, 0.01*1000+0.99*2000; !near(got, want) {
		t.Fatalf("max qps %f, want EMA %f", got, want)
	}
	wantLimit(t, l)
}

func TestExploreRatio(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	fullWindow(t, l, c, ms, 10*ms)
	fullWindow(t, l, c, ms, 10*ms) // establishes max qps 1000 for later windows
	if got := l.Stats().ExploreRatio; !near(got, 0.3) {
		t.Fatalf("initial explore ratio %f, want 0.3", got)
	}
	// Overload: latency 2× min at max qps → −0.02 per window to 0.06.
	want := 0.3
	for range 15 {
		fullWindow(t, l, c, ms, 20*ms)
		want = math.Max(0.06, want-0.02)
		if got := l.Stats().ExploreRatio; math.Abs(got-want) > 1e-9 {
			t.Fatalf("overloaded explore ratio %f, want %f", got, want)
		}
		wantLimit(t, l)
	}
	// Latency near min (≤ 1.06×) → +0.02 per window.
	fullWindow(t, l, c, ms, 10*ms+ms/2)
	if got := l.Stats().ExploreRatio; !near(got, 0.08) {
		t.Fatalf("latency 1.05× min: explore ratio %f, want 0.08", got)
	}
	// Slow but QPS ≤ max/1.06: not overload, so still exploring.
	fullWindow(t, l, c, 2*ms, 20*ms)
	if got := l.Stats().ExploreRatio; !near(got, 0.10) {
		t.Fatalf("half qps: explore ratio %f, want 0.10", got)
	}
	for range 20 {
		fullWindow(t, l, c, ms, 10*ms)
	}
	if got := l.Stats().ExploreRatio; !near(got, 0.3) {
		t.Fatalf("explore ratio %f, want capped at 0.3", got)
	}
	wantLimit(t, l)
}

func TestRemeasure(t *testing.T) {
	var draws []int64
	c := &fakeClock{}
	l, err := New(Options{Clock: c.now, Rand: func(n int64) int64 { draws = append(draws, n); return n - 1 }})
	if err != nil {
		t.Fatal(err)
	}
	// The re-measure period is drawn in [25 s, 50 s).
	if len(draws) != 1 || draws[0] != int64(25*time.Second) {
		t.Fatalf("draws %v, want one over a 25 s range", draws)
	}
	if next := l.Stats().NextRemeasure; next != 50*time.Second-1 {
		t.Fatalf("next re-measure in %v, want 50s-1ns", next)
	}
	for c.ns < int64(50*time.Second-200*ms) {
		fullWindow(t, l, c, ms, 10*ms)
		if l.Stats().Remeasuring {
			t.Fatalf("re-measuring at %v", time.Duration(c.ns))
		}
	}
	fullWindow(t, l, c, ms, 10*ms) // the window that closes after 50 s
	s := l.Stats()
	held := int(math.Ceil(s.MaxQPS * s.MinLatency.Seconds() * 0.9))
	if !s.Remeasuring || s.Limit != held {
		t.Fatalf("re-measure: %+v, want held at ceil(%.0f × %v × 0.9) = %d", s, s.MaxQPS, s.MinLatency, held)
	}
	// Samples within 2 × avg latency (20 ms) are ignored: in-flight drains.
	before := s.Windows
	feed(t, l, c, 19, ms, 1*ms, false)
	if s := l.Stats(); s.Windows != before || s.MinLatency != 10*ms || s.Limit != held {
		t.Fatalf("while draining: %+v", s)
	}
	// The first sample after the drain forgets min latency; the fresh
	// window (at the held limit) measures it anew, here higher than
	// before — impossible without a re-measure.
	feed(t, l, c, 1, ms, 15*ms, false)
	if l.Stats().Limit != held {
		t.Fatal("limit not held during the fresh window")
	}
	feed(t, l, c, 199, ms, 15*ms, false)
	s = l.Stats()
	if s.Windows != before+1 || s.MinLatency != 15*ms || s.Remeasuring {
		t.Fatalf("after the fresh window: %+v, want min latency 15ms and the hold over", s)
	}
	wantLimit(t, l)
	// Redrawn when the fresh measurement started, 199 ms ago.
	if len(draws) != 2 || s.NextRemeasure != 50*time.Second-1-199*ms {
		t.Fatalf("next re-measure in %v after %d draws", s.NextRemeasure, len(draws))
	}
}

func TestFailurePunishment(t *testing.T) {
	for _, tc := range []struct {
		punish float64
		want   time.Duration
	}{{0, 20 * ms}, {2, 30 * ms}} {
		l, c := newTest(t, Options{FailurePunishment: tc.punish}, 0)
		for range 100 {
			feed(t, l, c, 1, ms, 10*ms, false)
			feed(t, l, c, 1, ms, 10*ms, true)
		}
		// (100×10 ms + 100×10 ms × punishment) / 100 successes.
		if s := l.Stats(); s.Windows != 1 || s.MinLatency != tc.want {
			t.Fatalf("punishment %v: %+v, want avg latency %v", tc.punish, s, tc.want)
		}
	}
}

func TestAllFailedWindowHalvesLimit(t *testing.T) {
	l, c := newTest(t, Options{}, 0)
	want := DefaultInitialLimit
	for range 5 {
		feed(t, l, c, 200, ms, 10*ms, true)
		want = max(want/2, DefaultMinLimit)
		if got := l.Limit(); got != want {
			t.Fatalf("limit %d after an all-failed window, want %d", got, want)
		}
	}
}

func TestAcquireRespectsLimit(t *testing.T) {
	l, _ := newTest(t, Options{InitialLimit: 3, MinLimit: 1}, 0)
	for range 3 {
		if !l.Acquire() {
			t.Fatal("refused under the limit")
		}
	}
	if l.Acquire() || l.InFlight() != 3 || l.Stats().Rejected != 1 {
		t.Fatalf("over the limit: in flight %d, stats %+v", l.InFlight(), l.Stats())
	}
	l.Release(ms, false)
	if !l.Acquire() {
		t.Fatal("refused after a release")
	}
	l.Abandon()
	if l.InFlight() != 2 || !l.Acquire() {
		t.Fatalf("Abandon did not free a slot: in flight %d", l.InFlight())
	}
}

func TestConcurrent(t *testing.T) {
	l, err := New(Options{InitialLimit: 8, SampleInterval: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for k := range 3000 {
				if l.Acquire() {
					l.Release(time.Duration(1+k%5)*ms, (g+k)%11 == 0)
				}
				if k%1000 == 0 {
					_ = l.Stats()
				}
			}
		})
	}
	wg.Wait()
	if s := l.Stats(); s.InFlight != 0 || s.Limit < DefaultMinLimit {
		t.Fatalf("after the run: %+v", s)
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{InitialLimit: -1}, {MinLimit: -1}, {MaxLimit: -1}, {SampleInterval: -1},
		{FailurePunishment: math.NaN()}, {FailurePunishment: -1}, {MinLimit: 10, MaxLimit: 5},
		{InitialLimit: 100, MaxLimit: 50}, {RemeasureInterval: 1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
