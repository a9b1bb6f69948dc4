package balance

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func seeded(seed uint64) func() uint64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return r.Uint64
}

func TestSWRRNginxSequence(t *testing.T) {
	t.Parallel()
	s, err := NewSWRR([]int{5, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for range 14 {
		b.WriteByte("abc"[s.Pick(nil)])
	}
	// nginx's documented order for weights 5,1,1, twice.
	if got, want := b.String(), "aabacaaaabacaa"; got != want {
		t.Fatalf("sequence %s, want %s", got, want)
	}
}

func TestSWRRSkipsIneligible(t *testing.T) {
	t.Parallel()
	s, err := NewSWRR([]int{1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	m := make(Mask, 1).Fill(4)
	m.Clear(2)
	counts := make([]int, 4)
	for range 300 {
		counts[s.Pick(m)]++
	}
	if counts[2] != 0 || counts[0] != 100 || counts[1] != 100 || counts[3] != 100 {
		t.Fatalf("counts %v, want 100,100,0,100", counts)
	}
	if got := s.Pick(make(Mask, 1)); got != -1 {
		t.Fatalf("empty mask: got %d, want -1", got)
	}
}

func TestP2CPicksLessLoaded(t *testing.T) {
	t.Parallel()
	p, err := NewP2C([]int{1, 1}, Options{Rand: seeded(1)})
	if err != nil {
		t.Fatal(err)
	}
	// With two instances both are always drawn: the one with fewer
	// in-flight requests wins, so picks alternate while nothing is Done.
	for k := range 10 {
		p.Pick(nil)
		if d := p.InFlight(0) - p.InFlight(1); d < -1 || d > 1 {
			t.Fatalf("after %d picks in-flight %d vs %d", k+1, p.InFlight(0), p.InFlight(1))
		}
	}
	for range 5 {
		p.Done(0)
		p.Done(1)
	}
	if p.InFlight(0) != 0 || p.InFlight(1) != 0 {
		t.Fatal("Done did not bring in-flight back to 0")
	}
}

func TestP2CWeights(t *testing.T) {
	t.Parallel()
	p, err := NewP2C([]int{3, 1}, Options{Rand: seeded(2)})
	if err != nil {
		t.Fatal(err)
	}
	// Held requests settle near in-flight ∝ weight.
	for range 400 {
		p.Pick(nil)
	}
	if a, b := p.InFlight(0), p.InFlight(1); a < 290 || a > 310 || a+b != 400 {
		t.Fatalf("in-flight %d/%d, want about 300/100", a, b)
	}
	if err := p.SetWeights([]int{1, 1}); err != nil {
		t.Fatal(err)
	}
	for range 400 {
		p.Pick(nil)
	}
	if a, b := p.InFlight(0), p.InFlight(1); a-b > 2 || b-a > 2 {
		t.Fatalf("after equal weights in-flight %d/%d, want equal", a, b)
	}
	if err := p.SetWeights([]int{1}); err == nil {
		t.Fatal("SetWeights accepted the wrong count")
	}
}

func TestP2CMask(t *testing.T) {
	t.Parallel()
	p, err := NewP2C(ones(70), Options{Rand: seeded(3)})
	if err != nil {
		t.Fatal(err)
	}
	n := p.Len()
	m := make(Mask, MaskWords(n))
	if got := p.Pick(m); got != -1 {
		t.Fatalf("empty mask: got %d", got)
	}
	m.Set(66)
	for range 10 {
		if got := p.Pick(m); got != 66 {
			t.Fatalf("single eligible: got %d", got)
		}
		p.Done(66)
	}
	m.Set(3)
	m.Set(40)
	seen := map[int]int{}
	for range 3000 {
		i := p.Pick(m)
		seen[i]++
		p.Done(i)
	}
	if len(seen) != 3 || seen[3] < 800 || seen[40] < 800 || seen[66] < 800 {
		t.Fatalf("picks %v, want only 3, 40 and 66, evenly", seen)
	}
}

func ones(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func TestBalancersConcurrent(t *testing.T) {
	t.Parallel()
	for _, pol := range []Policy{PolicyP2C, PolicySWRR} {
		t.Run(pol.String(), func(t *testing.T) {
			b, err := New(pol, []int{1, 2, 3, 4, 5}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := make(Mask, 1).Fill(5)
			m.Clear(1)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for k := range 2000 {
						mask := m
						if k%2 == 0 {
							mask = nil
						}
						i := b.Pick(mask)
						if i < 0 || i >= 5 || (mask != nil && i == 1) {
							t.Errorf("goroutine %d picked %d", g, i)
							return
						}
						if k%500 == 0 {
							if err := b.SetWeights([]int{5, 4, 3, 2, 1}); err != nil {
								t.Error(err)
							}
						}
						b.Done(i)
					}
				})
			}
			wg.Wait()
			if p, ok := b.(*P2C); ok {
				for i := range 5 {
					if p.InFlight(i) != 0 {
						t.Fatalf("instance %d in-flight %d after all Done", i, p.InFlight(i))
					}
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, w := range [][]int{nil, {}, {1, 0}, {-1}} {
		if _, err := New(PolicyP2C, w, Options{}); err == nil {
			t.Errorf("p2c accepted weights %v", w)
		}
		if _, err := New(PolicySWRR, w, Options{}); err == nil {
			t.Errorf("swrr accepted weights %v", w)
		}
	}
	if _, err := New(Policy(9), []int{1}, Options{}); err == nil {
		t.Error("unknown policy accepted")
	}
	for s, want := range map[string]Policy{"": PolicyP2C, "p2c": PolicyP2C, "swrr": PolicySWRR} {
		if got, err := ParsePolicy(s); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParsePolicy("random"); err == nil {
		t.Error("ParsePolicy accepted random")
	}
}

func TestP2CMaskUniform(t *testing.T) {
	t.Parallel()
	// One of four ineligible: most draws hit eligible pairs directly, the
	// rest are redrawn among the eligible; both must stay uniform.
	p, err := NewP2C(ones(4), Options{Rand: seeded(4)})
	if err != nil {
		t.Fatal(err)
	}
	m := make(Mask, 1).Fill(4)
	m.Clear(1)
	counts := make([]int, 4)
	for range 30000 {
		i := p.Pick(m)
		counts[i]++
		p.Done(i)
	}
	for _, i := range []int{0, 2, 3} {
		if counts[i] < 9500 || counts[i] > 10500 {
			t.Fatalf("counts %v, want about 10000 each for 0, 2, 3", counts)
		}
	}
	if counts[1] != 0 {
		t.Fatalf("ineligible instance picked %d times", counts[1])
	}
}

func TestImplementsBalancer(t *testing.T) {
	t.Parallel()
	var _ Balancer = (*P2C)(nil)
	var _ Balancer = (*SWRR)(nil)
}
