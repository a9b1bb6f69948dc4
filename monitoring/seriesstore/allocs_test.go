package seriesstore_test

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// An Update of existing series allocates nothing per point, in a steady
// state (each series' queue of deferred points has the size it keeps). It
// took two maps' entries per point (touched, deferred) and a slice per call.
func TestUpdateAllocatesNothingPerPoint(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	const series, warm, runs = 1000, 40, 20
	pts := make([]seriesstore.Point, series)
	t0 := int64(1_700_000_000) / 60 * 60
	round := 0
	keys := make([]string, series)
	for i := range keys {
		keys[i] = fmt.Sprintf("host-%d/bench.load/env=bench,k=%d", i/10, i%10)
	}
	fill := func() {
		for i := range pts {
			pts[i] = seriesstore.Point{Key: keys[i], Step: 60, CounterType: "GAUGE", Time: t0 + int64(round)*60, Value: float64(i)}
		}
		round++
	}
	for range warm { // the series exist, their queues reach the size they keep (64)
		fill()
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Checkpoint(); err != nil { // applies them, keeps the queues
		t.Fatal(err)
	}
	var accepted int
	allocs := testing.AllocsPerRun(runs, func() {
		fill()
		res, err := st.Update(pts)
		if err != nil {
			t.Fatal(err)
		}
		accepted += res.Accepted
	})
	if accepted != (runs+1)*series {
		t.Fatalf("accepted %d points, want %d", accepted, (runs+1)*series)
	}
	if allocs > 0 {
		t.Errorf("%.1f allocations per Update of %d points, want none", allocs, series)
	}
}
