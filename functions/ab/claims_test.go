package ab_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Experiments of one layer stay mutually exclusive under concurrent
// writes: of eight creates of overlapping ranges sent at once exactly one
// is stored (the others: 400 naming range), and of two starts of stopped
// experiments whose ranges overlap, sent at once, exactly one runs. (The
// check of the other experiments and the write used to be two steps: two
// writes could both pass the check.)
func TestOverlappingWritesInOneLayerAtOnce(t *testing.T) {
	s := newServer(t, "redis")
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"checkout"}`)
	const n = 8
	status := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := s.do(t, "POST", "/fn/ab/experiments", "team",
				fmt.Sprintf(`{"key":"e%d","layer":"checkout","range":[%d,%d],"variations":[{"weight":0.5},{"weight":0.5}]}`, i, i*100, 5000+i*100))
			status[i], bodies[i] = r.Status, string(r.Body)
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		switch {
		case status[i] == 201:
			created++
		case status[i] == 400 && strings.Contains(bodies[i], `"field":"range"`):
		default:
			t.Fatalf("create e%d: %d %s", i, status[i], bodies[i])
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d overlapping creates stored, want exactly 1: %v", created, n, status)
	}

	// Two stopped experiments with overlapping ranges (a stopped one owns
	// no range), then both started at once.
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"search"}`)
	for _, k := range []string{"a", "b"} {
		s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"`+k+`","layer":"search","range":[0,5000],"variations":[{"weight":0.5},{"weight":0.5}]}`)
		s.must(t, 200, "POST", "/fn/ab/experiments/shop/"+k+"/start", "team", "")
		s.must(t, 200, "POST", "/fn/ab/experiments/shop/"+k+"/stop", "team", "")
	}
	var starts [2]int
	for i, k := range []string{"a", "b"} {
		wg.Go(func() { starts[i] = s.do(t, "POST", "/fn/ab/experiments/shop/"+k+"/start", "team", "").Status })
	}
	wg.Wait()
	if !(starts[0] == 200 && starts[1] == 409 || starts[0] == 409 && starts[1] == 200) {
		t.Fatalf("two overlapping starts at once answered %v, want one 200 and one 409", starts)
	}
}
