package balance

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The simulation is a discrete-event model of one room: open-loop Poisson
// arrivals; each instance is a FIFO queue served by `workers` workers with
// exponential service times of its own mean. The balancer sees exactly what
// the gateway would: Pick at arrival, Done at completion.

type simResult struct {
	share []float64 // fraction of requests per instance
	mean  time.Duration
	p99   time.Duration
}

type simInstance struct {
	mean    float64 // seconds
	busy    int
	queue   []float64 // arrival times waiting for a worker
	head    int
	arrived int
}

type completion struct {
	at, arrival float64
	inst        int
}

type completions []completion

func (c completions) Len() int           { return len(c) }
func (c completions) Less(i, j int) bool { return c[i].at < c[j].at }
func (c completions) Swap(i, j int)      { c[i], c[j] = c[j], c[i] }
func (c *completions) Push(x any)        { *c = append(*c, x.(completion)) }
func (c *completions) Pop() any {
	old := *c
	x := old[len(old)-1]
	*c = old[:len(old)-1]
	return x
}

func simulate(b Balancer, service []time.Duration, workers int, rate float64, requests int, seed uint64) simResult {
	rng := rand.New(rand.NewPCG(seed, 7))
	inst := make([]simInstance, len(service))
	for i, s := range service {
		inst[i].mean = s.Seconds()
	}
	var pending completions
	lat := make([]float64, 0, requests)
	start := func(now, arrival float64, i int) {
		inst[i].busy++
		heap.Push(&pending, completion{at: now + rng.ExpFloat64()*inst[i].mean, arrival: arrival, inst: i})
	}
	next, sent := rng.ExpFloat64()/rate, 0
	for sent < requests || len(pending) > 0 {
		if len(pending) > 0 && (sent == requests || pending[0].at <= next) {
			c := heap.Pop(&pending).(completion)
			lat = append(lat, c.at-c.arrival)
			b.Done(c.inst)
			s := &inst[c.inst]
			s.busy--
			if s.head < len(s.queue) {
				a := s.queue[s.head]
				s.head++
				start(c.at, a, c.inst)
			}
			continue
		}
		i := b.Pick(nil)
		s := &inst[i]
		s.arrived++
		if s.busy < workers {
			start(next, next, i)
		} else {
			s.queue = append(s.queue, next)
		}
		sent++
		next += rng.ExpFloat64() / rate
	}
	slices.Sort(lat)
	var sum float64
	for _, l := range lat {
		sum += l
	}
	r := simResult{
		mean: time.Duration(sum / float64(len(lat)) * 1e9),
		p99:  time.Duration(lat[len(lat)*99/100] * 1e9),
	}
	for _, s := range inst {
		r.share = append(r.share, float64(s.arrived)/float64(requests))
	}
	return r
}

type scenario struct {
	name    string
	service []time.Duration
	loads   []Load // nil: no reports, static weights
	rate    float64
}

func scenarios() []scenario {
	ms := time.Millisecond
	now := time.Unix(1000, 0)
	return []scenario{
		// 4 × 8 workers × 100/s = 3200/s capacity, offered 70 %.
		{name: "equal", service: []time.Duration{10 * ms, 10 * ms, 10 * ms, 10 * ms}, rate: 2240},
		// Instance 3 is 3× slower (capacity 267/s of 2667/s), and reports
		// nothing: only in-flight counts can tell. Offered 60 %.
		{name: "slow-unreported", service: []time.Duration{10 * ms, 10 * ms, 10 * ms, 30 * ms}, rate: 1600},
		// Instance 3 reports 3× its peers' CPU (equal real speed): the
		// acceptance case, weights from Weigher. Offered 50 %.
		{name: "loaded-reported", service: []time.Duration{10 * ms, 10 * ms, 10 * ms, 10 * ms}, rate: 1600,
			loads: []Load{{CPU: 0.2, At: now}, {CPU: 0.2, At: now}, {CPU: 0.2, At: now}, {CPU: 0.6, At: now}}},
	}
}

func runScenario(tb testing.TB, sc scenario, pol Policy, seed uint64) simResult {
	tb.Helper()
	static := []int{1, 1, 1, 1}
	weights := static
	if sc.loads != nil {
		w := mustWeigher(tb, WeightOptions{})
		var err error
		if weights, err = w.Weights(nil, static, sc.loads, time.Unix(1000, 0)); err != nil {
			tb.Fatal(err)
		}
	}
	b, err := New(pol, weights, Options{Rand: seeded(seed)})
	if err != nil {
		tb.Fatal(err)
	}
	return simulate(b, sc.service, 8, sc.rate, 40000, seed)
}

// TestDistribution is the distribution-quality table behind the default
// (go test -v -run Distribution ./gateway/balance/).
func TestDistribution(t *testing.T) {
	t.Parallel()
	res := map[string]simResult{}
	for _, sc := range scenarios() {
		for _, pol := range []Policy{PolicySWRR, PolicyP2C} {
			r := runScenario(t, sc, pol, 42)
			res[sc.name+"/"+pol.String()] = r
			t.Logf("%-16s %-4s shares %s  mean %6.1fms  p99 %7.1fms", sc.name, pol, fmtShares(r.share),
				float64(r.mean)/1e6, float64(r.p99)/1e6)
		}
	}
	for _, pol := range []string{"swrr", "p2c"} {
		for i, s := range res["equal/"+pol].share {
			if s < 0.23 || s > 0.27 {
				t.Errorf("equal/%s: instance %d share %.3f, want 0.25±0.02", pol, i, s)
			}
		}
		// Acceptance: 3× the reported load → clearly less traffic.
		if r := res["loaded-reported/"+pol]; r.share[3] >= 0.6*r.share[0] {
			t.Errorf("loaded-reported/%s: loaded share %.3f vs peer %.3f, want < 60 %%", pol, r.share[3], r.share[0])
		}
	}
	// Unreported slowness: only P2C can see it, through in-flight counts.
	p2c, swrr := res["slow-unreported/p2c"], res["slow-unreported/swrr"]
	if p2c.share[3] >= 0.6*p2c.share[0] {
		t.Errorf("slow-unreported/p2c: slow share %.3f vs peer %.3f, want < 60 %%", p2c.share[3], p2c.share[0])
	}
	if p2c.p99 >= swrr.p99 {
		t.Errorf("slow-unreported: p2c p99 %v not below swrr p99 %v", p2c.p99, swrr.p99)
	}
}

func fmtShares(s []float64) string {
	out := ""
	for _, v := range s {
		out += fmt.Sprintf("%5.1f%% ", v*100)
	}
	return out
}

// BenchmarkDistribution reports the same table as benchmark metrics.
func BenchmarkDistribution(b *testing.B) {
	for _, sc := range scenarios() {
		for _, pol := range []Policy{PolicySWRR, PolicyP2C} {
			b.Run(sc.name+"/"+pol.String(), func(b *testing.B) {
				var r simResult
				for k := 0; b.Loop(); k++ {
					r = runScenario(b, sc, pol, uint64(k+1))
				}
				b.ReportMetric(100*r.share[3]/r.share[0], "inst3/peer_%")
				b.ReportMetric(float64(r.mean)/1e6, "mean_ms")
				b.ReportMetric(float64(r.p99)/1e6, "p99_ms")
			})
		}
	}
}
