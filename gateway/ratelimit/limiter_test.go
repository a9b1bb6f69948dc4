package ratelimit

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

type clock struct{ now int64 }

func (c *clock) ms() int64 { return c.now }

func mustRate(t testing.TB, s string) int64 {
	t.Helper()
	r, err := ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTest(t testing.TB, limits ...Limit) (*Limiter, *clock) {
	t.Helper()
	c := &clock{}
	l, err := New(limits, Options{Clock: c.ms})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// step is one request at time at (ms): expected outcome and delay (ms).
type step struct {
	at    int64
	want  Outcome
	delay int64
}

func run(t *testing.T, l *Limiter, c *clock, keys [][]byte, steps []step) []Decision {
	t.Helper()
	var out []Decision
	for i, s := range steps {
		c.now = s.at
		d := l.Decide(keys)
		if d.Outcome != s.want || d.Delay != time.Duration(s.delay)*time.Millisecond {
			t.Errorf("step %d t=%d: got %v delay %v, want %v delay %dms", i+1, s.at, d.Outcome, d.Delay, s.want, s.delay)
		}
		out = append(out, d)
	}
	return out
}

var k1 = [][]byte{[]byte("10.0.0.1")}

type nginxCase struct {
	name  string
	lim   Limit
	steps []step
}

// nginxCases are request timelines checked against nginx limit_req.
func nginxCases() []nginxCase {
	return []nginxCase{
		{"1r/s", Limit{Rate: 1000}, []step{
			{0, Passed, 0}, {0, Rejected, 0}, {500, Rejected, 0}, {999, Rejected, 0}, {1000, Passed, 0}, {1000, Rejected, 0},
		}},
		{"2r/s burst=1 nodelay", Limit{Rate: 2000, Burst: 1, Delay: NoDelay}, []step{
			{0, Passed, 0}, {0, Passed, 0}, {0, Rejected, 0}, {499, Rejected, 0}, {500, Passed, 0}, {1000, Passed, 0},
		}},
		{"2r/s burst=5", Limit{Rate: 2000, Burst: 5}, []step{
			{0, Passed, 0}, {0, Delayed, 500}, {0, Delayed, 1000}, {0, Delayed, 1500}, {0, Delayed, 2000}, {0, Delayed, 2500},
			{0, Rejected, 0}, {1000, Delayed, 2000},
		}},
		// 1r/m = 16 milli/s: one request drains in 62500 ms.
		{"1r/m", Limit{Rate: 16}, []step{
			{0, Passed, 0}, {1000, Rejected, 0}, {62499, Rejected, 0}, {62500, Passed, 0}, {62500, Rejected, 0}, {125000, Passed, 0},
		}},
		// 30r/m = 500 milli/s: one request per 2000 ms; burst 1 delays by 2 s.
		{"30r/m burst=1", Limit{Rate: 500, Burst: 1}, []step{
			{0, Passed, 0}, {0, Delayed, 2000}, {0, Rejected, 0}, {1000, Rejected, 0}, {1999, Rejected, 0}, // 1000-999+1000 > 1000
			{2000, Delayed, 2000}, {2000, Rejected, 0}, {4000, Delayed, 2000},
		}},
		{"30r/m burst=2 nodelay", Limit{Rate: 500, Burst: 2, Delay: NoDelay}, []step{
			{0, Passed, 0}, {0, Passed, 0}, {0, Passed, 0}, {0, Rejected, 0}, {1999, Rejected, 0}, {2000, Passed, 0}, {2000, Rejected, 0},
		}},
		// Two-stage: delay=2 burst=4 at 1r/s. excess 0,1000,2000 pass; 3000 → 1 s; 4000 → 2 s.
		{"1r/s burst=4 delay=2", Limit{Rate: 1000, Burst: 4, Delay: 2}, []step{
			{0, Passed, 0}, {0, Passed, 0}, {0, Passed, 0}, {0, Delayed, 1000}, {0, Delayed, 2000}, {0, Rejected, 0},
			{1000, Delayed, 2000}, // 4000-1000+1000 = 4000
			{4000, Passed, 0},     // 4000-3000+1000 = 2000 = delay
			{4000, Delayed, 1000},
		}},
		// Clock skew: backwards < 60 s counts as ms=0; beyond that as ms=1.
		{"skew small", Limit{Rate: 1000, Burst: 1, Delay: NoDelay}, []step{
			{10000, Passed, 0}, {9000, Passed, 0}, // excess 1000, last=9000
			{8000, Rejected, 0}, // ms<0 → 0: 2000 > 1000
			{10000, Passed, 0},  // ms=1000 from 9000: 1000-1000+1000 = 1000
		}},
		// 1000r/s: one request drains in exactly 1 ms.
		{"skew large", Limit{Rate: 1000000, Burst: 0}, []step{
			{100000, Passed, 0}, {100000, Rejected, 0},
			{40000, Rejected, 0}, // ms=-60000 → 0: 0-0+1000 > 0
			{39999, Passed, 0},   // ms=-60001 → 1: 0-1000+1000 = 0
			{39998, Rejected, 0}, // ms=-1 → 0
			{40000, Passed, 0},   // ms=1
		}},
	}
}

func TestNginxTables(t *testing.T) {
	t.Parallel()
	for _, tc := range nginxCases() {
		t.Run(tc.name, func(t *testing.T) {
			l, c := newTest(t, tc.lim)
			run(t, l, c, k1, tc.steps)
		})
	}
}

func TestSkewLargeSlowRate(t *testing.T) {
	t.Parallel()
	// After a big backward jump every request counts as 1 ms elapsed.
	l, c := newTest(t, Limit{Rate: 1000, Burst: 1, Delay: NoDelay})
	run(t, l, c, k1, []step{
		{100000, Passed, 0}, {100000, Passed, 0}, // excess 1000
		{39999, Rejected, 0}, // ms=1: 1000-1+1000 = 1999 > 1000
		{0, Rejected, 0},
		{101000, Passed, 0}, // ms=1000 from the unchanged last=100000
	})
}

func TestMultipleLimits(t *testing.T) {
	t.Parallel()
	perIP := Limit{Name: "per_ip", Rate: 1000, Burst: 3} // delays 1 s per excess request
	perHost := Limit{Name: "per_host", Rate: 2000, Burst: 1, Delay: NoDelay}
	l, c := newTest(t, perIP, perHost)
	keys := [][]byte{[]byte("ip1"), []byte("host")}
	d := l.Decide(keys)
	if d.Outcome != Passed {
		t.Fatalf("1: %+v", d)
	}
	d = l.Decide(keys) // ip: 1000 → 1 s; host: 1000 ≤ 1000 nodelay
	if d.Outcome != Delayed || d.Delay != time.Second || d.Limit != 0 {
		t.Fatalf("2: %+v", d)
	}
	d = l.Decide(keys) // host: 2000 > 1000 → reject; ip must not be charged
	if d.Outcome != Rejected || d.Limit != 1 || d.Status != 429 {
		t.Fatalf("3: %+v", d)
	}
	// Another IP through a different host: ip1 state must still be excess 1000.
	d = l.Decide([][]byte{[]byte("ip1"), []byte("other")})
	if d.Outcome != Delayed || d.Delay != 2*time.Second {
		t.Fatalf("4: ip1 was charged by the rejected request: %+v", d)
	}
	// Skipped limit: empty and nil keys.
	c.now = 0
	d = l.Decide([][]byte{nil, []byte("host2")})
	if d.Outcome != Passed || d.Limit != 1 {
		t.Fatalf("5: %+v", d)
	}
	d = l.Decide([][]byte{{}, nil})
	if d.Outcome != Passed || d.Limit != -1 {
		t.Fatalf("6: %+v", d)
	}
	d = l.Decide(nil)
	if d.Outcome != Passed || d.Limit != -1 {
		t.Fatalf("7: %+v", d)
	}
	if n := l.Len(0); n != 1 {
		t.Fatalf("skipped key inserted: Len(0)=%d", n)
	}
}

func TestLargestDelayWins(t *testing.T) {
	t.Parallel()
	a := Limit{Rate: 2000, Burst: 10}  // 1000 excess → 500 ms
	b := Limit{Rate: 1000, Burst: 10}  // 1000 excess → 1000 ms
	cc := Limit{Rate: 4000, Burst: 10} // 250 ms
	l, _ := newTest(t, a, b, cc)
	keys := [][]byte{[]byte("k"), []byte("k"), []byte("k")}
	l.Decide(keys)
	d := l.Decide(keys)
	if d.Outcome != Delayed || d.Delay != time.Second || d.Limit != 1 {
		t.Fatalf("%+v", d)
	}
	d = l.Decide(keys)
	if d.Outcome != Delayed || d.Delay != 2*time.Second || d.Limit != 1 {
		t.Fatalf("%+v", d)
	}
}

func TestRejectFirstLimitNoneCharged(t *testing.T) {
	t.Parallel()
	// The rejecting limit comes first; the second limit must be untouched too.
	l, _ := newTest(t, Limit{Rate: 1000}, Limit{Rate: 1000, Burst: 1, Delay: NoDelay})
	l.Decide([][]byte{[]byte("a"), []byte("b")})
	for i := 0; i < 5; i++ {
		if d := l.Decide([][]byte{[]byte("a"), []byte("b")}); d.Outcome != Rejected || d.Limit != 0 {
			t.Fatalf("%+v", d)
		}
	}
	// b has excess 0 (first request) → one more fits.
	if d := l.Decide([][]byte{nil, []byte("b")}); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Limit{Rate: 1000, Burst: 1, DryRun: true})
	for i, want := range []Outcome{Passed, DelayedDryRun, RejectedDryRun, RejectedDryRun} {
		d := l.Decide(k1)
		if d.Outcome != want || d.Delay != 0 || !d.Allowed() {
			t.Fatalf("%d: %+v, want %v", i, d, want)
		}
	}
	// The would-be-rejected requests were not charged: still 1000 excess.
	if d := l.Decide(k1); d.Outcome != RejectedDryRun || d.Excess != 1000 {
		t.Fatalf("%+v", d)
	}

	// Dry-run mixed with a real limit: a dry-run reject does not stop the real
	// limit from charging; a real delay beats dry-run outcomes.
	l, _ = newTest(t, Limit{Rate: 1000, DryRun: true}, Limit{Rate: 1000, Burst: 5})
	keys := [][]byte{[]byte("x"), []byte("x")}
	if d := l.Decide(keys); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
	if d := l.Decide(keys); d.Outcome != Delayed || d.Delay != time.Second || d.Limit != 1 {
		t.Fatalf("%+v", d)
	}
	if d := l.Decide([][]byte{[]byte("x"), nil}); d.Outcome != RejectedDryRun || d.Limit != 0 {
		t.Fatalf("%+v", d)
	}
	// A real reject while a dry-run limit would delay: the dry-run one is not charged.
	l, _ = newTest(t, Limit{Rate: 1000, Burst: 5, DryRun: true}, Limit{Rate: 1000})
	l.Decide(keys)
	if d := l.Decide(keys); d.Outcome != Rejected || d.Limit != 1 {
		t.Fatalf("%+v", d)
	}
	if d := l.Decide([][]byte{[]byte("x"), nil}); d.Outcome != DelayedDryRun || d.Excess != 1000 {
		t.Fatalf("dry-run limit charged by rejected request: %+v", d)
	}
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	want := map[Outcome]string{Passed: "PASSED", Delayed: "DELAYED", Rejected: "REJECTED", DelayedDryRun: "DELAYED_DRY_RUN", RejectedDryRun: "REJECTED_DRY_RUN"}
	for o, s := range want {
		if o.String() != s {
			t.Errorf("%d: %q", o, o.String())
		}
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	bad := [][]Limit{
		nil,
		{{Rate: 0}},
		{{Rate: -1}},
		{{Rate: MaxRate + 1}},
		{{Rate: 1000, Burst: -1}},
		{{Rate: 1000, Delay: -2}},
		{{Rate: 1000, Status: 302}},
		{{Rate: 1000, Status: 600}},
		{{Rate: 1000, Name: `a"b`}},
		make([]Limit, MaxLimits+1),
	}
	for i, ls := range bad {
		if _, err := New(ls, Options{}); err == nil || !strings.HasPrefix(err.Error(), "cannot create rate limiter") {
			t.Errorf("%d: err = %v", i, err)
		}
	}
	l, err := New([]Limit{{Rate: 1000, Status: 503}, {Rate: 1000}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := l.Limits()
	if got[0].Status != 503 || got[1].Status != 429 || got[1].Name != "limit1" {
		t.Fatalf("%+v", got)
	}
	// Default clock works.
	if d := l.Decide([][]byte{[]byte("a")}); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Limit{Name: "per_ip", Rate: 1000, Status: 503})
	l.Decide(k1)
	c.now = 500
	d := l.Decide(k1)
	if d.Outcome != Rejected || d.Status != 503 || d.RetryAfter != 500*time.Millisecond || d.RetryAfterSeconds() != 1 {
		t.Fatalf("%+v", d)
	}
	// 1r/m: at t=1000 the request fits again at t=62500.
	l, c = newTest(t, Limit{Rate: 16})
	l.Decide(k1)
	c.now = 1000
	d = l.Decide(k1)
	if d.RetryAfter != 61500*time.Millisecond || d.RetryAfterSeconds() != 62 {
		t.Fatalf("%+v", d)
	}
	// Verify the bound is exact: 1 ms earlier still rejects, at it passes.
	c.now = 62499
	if d := l.Decide(k1); d.Outcome != Rejected {
		t.Fatalf("%+v", d)
	}
	c.now = 62500
	if d := l.Decide(k1); d.Outcome != Passed {
		t.Fatalf("%+v", d)
	}
	if (Decision{Outcome: Passed}).RetryAfterSeconds() != 0 {
		t.Fatal("RetryAfterSeconds on pass")
	}
}

// TestRetryAfterExact checks, for several rates and bursts, that waiting
// exactly RetryAfter is enough and 1 ms less is not.
func TestRetryAfterExact(t *testing.T) {
	t.Parallel()
	for _, rs := range []string{"1r/s", "3r/s", "7r/m", "1r/m", "30r/m", "500r/s"} {
		for _, burst := range []int64{0, 1, 3} {
			lim := Limit{Rate: mustRate(t, rs), Burst: burst, Delay: NoDelay}
			for start := int64(0); start < 3; start++ {
				l, c := newTest(t, lim)
				var d Decision
				for i := 0; d.Outcome != Rejected; i++ {
					if i > 100 {
						break // rate drains faster than the steps arrive
					}
					c.now += start
					d = l.Decide(k1)
				}
				if d.Outcome != Rejected {
					continue
				}
				at := c.now + d.RetryAfter.Milliseconds()
				c.now = at - 1
				if d2 := l.Decide(k1); d2.Outcome != Rejected && d.RetryAfter > time.Millisecond {
					t.Fatalf("%s burst %d: passed 1 ms before RetryAfter (%v)", rs, burst, d.RetryAfter)
				}
				c.now = at
				if d2 := l.Decide(k1); d2.Outcome == Rejected {
					t.Fatalf("%s burst %d: still rejected after RetryAfter %v", rs, burst, d.RetryAfter)
				}
			}
		}
	}
}

func TestHeaders(t *testing.T) {
	l, c := newTest(t,
		Limit{Name: "per_ip", Rate: mustRate(t, "10r/s"), Burst: 4, Delay: NoDelay},
		Limit{Name: "slow", Rate: mustRate(t, "30r/m")},
		Limit{Name: "tiny", Rate: mustRate(t, "1r/m")},
	)
	if got := l.Policy(0); got != `"per_ip";q=10;w=1` {
		t.Errorf("policy 0: %s", got)
	}
	if got := l.PolicyField(); got != `"per_ip";q=10;w=1, "slow";q=30;w=60, "tiny";q=1;w=60` {
		t.Errorf("policy field: %s", got)
	}
	k := [][]byte{[]byte("a")}
	d := l.Decide(k)
	if got := l.RateLimitField(d); got != `"per_ip";r=4;t=1` { // the full quota is back after 100 ms
		t.Errorf("1: %s (%+v)", got, d)
	}
	for i := 0; i < 4; i++ {
		d = l.Decide(k)
	}
	// excess 4000 at 10r/s: 0 remaining, drains in 400 ms → t=1.
	if got := l.RateLimitField(d); got != `"per_ip";r=0;t=1` {
		t.Errorf("5: %s (%+v)", got, d)
	}
	d = l.Decide(k)
	if d.Outcome != Rejected || l.RateLimitField(d) != `"per_ip";r=0;t=1` || d.RetryAfterSeconds() != 1 {
		t.Errorf("6: %s (%+v)", l.RateLimitField(d), d)
	}
	c.now = 250 // drained 2500 → excess 1500 → 2 remaining
	d = l.Decide([][]byte{[]byte("a")})
	if got := l.RateLimitField(d); got != `"per_ip";r=1;t=1` {
		// after this request: 4000-2500+1000 = 2500 → r = 1
		t.Errorf("7: %s (%+v)", got, d)
	}
	if got := l.RateLimitField(Decision{Limit: -1}); got != "" {
		t.Errorf("skipped: %q", got)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = l.AppendRateLimit(buf[:0], d) }); n != 0 {
		t.Errorf("AppendRateLimit allocs %v", n)
	}
}

func TestEviction(t *testing.T) {
	t.Parallel()
	l, c := newTest(t, Limit{Rate: 1000, Burst: 10})
	l2, err := New([]Limit{{Rate: 1000, Burst: 10}}, Options{Clock: c.ms, MaxKeys: 64})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		k := [][]byte{[]byte("k" + strconv.Itoa(i))}
		l.Decide(k)
		l.Decide(k) // excess 1000
		l2.Decide(k)
	}
	if n := l2.Len(0); n > 64 {
		t.Fatalf("MaxKeys 64 exceeded: %d", n)
	}
	if n := l.Len(0); n != 1000 {
		t.Fatalf("Len = %d", n)
	}
	c.now = 1999 // excess 1000 not yet fully drained (needs 2000 ms incl. the +1000)
	if n := l.Sweep(); n != 0 {
		t.Fatalf("swept %d too early", n)
	}
	c.now = 2000
	if n := l.Sweep(); n != 1000 {
		t.Fatalf("swept %d", n)
	}
	// Inserts expire idle stale entries: a fully drained key is dropped.
	l, c = newTest(t, Limit{Rate: 1000})
	for i := 0; i < 200; i++ {
		l.Decide([][]byte{[]byte("a" + strconv.Itoa(i))})
	}
	c.now = 1000
	for i := 0; i < 200; i++ {
		l.Decide([][]byte{[]byte("b" + strconv.Itoa(i))})
	}
	if n := l.Len(0); n >= 400 {
		t.Fatalf("idle keys not expired on insert: %d", n)
	}
}

// TestEvictionUnobservable: with a tiny MaxKeys only idle keys are dropped
// when they are idle, so a key hammered in between keeps its state.
func TestEvictionKeepsHotKey(t *testing.T) {
	t.Parallel()
	c := &clock{}
	l, err := New([]Limit{{Rate: 1000}}, Options{Clock: c.ms, MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	hot := [][]byte{[]byte("hot")}
	l.Decide(hot)
	if d := l.Decide(hot); d.Outcome != Rejected {
		t.Fatal(d)
	}
	if n := l.Len(0); n != 1 {
		t.Fatal(n)
	}
}

func TestKeyNotRetained(t *testing.T) {
	t.Parallel()
	l, _ := newTest(t, Limit{Rate: 1000})
	buf := []byte("abc")
	l.Decide([][]byte{buf})
	copy(buf, "xyz")
	if d := l.Decide([][]byte{[]byte("abc")}); d.Outcome != Rejected {
		t.Fatalf("key retained/aliased: %+v", d)
	}
}

func TestDecideNoAllocs(t *testing.T) {
	l, c := newTest(t, Limit{Rate: 1000000, Burst: 100}, Limit{Rate: 1000000, Burst: 100})
	keys := [][]byte{[]byte("192.168.1.1"), []byte("host.example.com")}
	l.Decide(keys)
	n := testing.AllocsPerRun(1000, func() {
		c.now++
		l.Decide(keys)
	})
	if n != 0 {
		t.Fatalf("Decide allocs = %v", n)
	}
}
