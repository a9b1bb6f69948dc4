package traffic

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store/buntstore"
)

func TestCountsAddUpAcrossNodesAndWindows(t *testing.T) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a, b := NewRecorder(st, "node-a", nil), NewRecorder(st, "node-b", nil)
	t0 := time.Unix(1_800_000_000, 0)
	// Second 0: node a 10 requests (2 failed), node b 5 (0 failed), all to 2.0.0.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { a.Counter("shop", "2.0.0").Observe(i < 2) })
	}
	wg.Wait()
	for range 5 {
		b.Counter("shop", "2.0.0").Observe(false)
	}
	a.Counter("shop", "1.0.0").Observe(true) // another version: not summed
	a.Flush(ctx, t0)
	b.Flush(ctx, t0)
	// Second 1: node b 4 requests, 4 failed. Second 3: node a 1 request.
	for range 4 {
		b.Counter("shop", "2.0.0").Observe(true)
	}
	b.Flush(ctx, t0.Add(time.Second))
	a.Counter("shop", "2.0.0").Observe(false)
	a.Flush(ctx, t0.Add(3*time.Second))
	a.Flush(ctx, t0.Add(4*time.Second)) // nothing new: nothing written

	r := NewReader(st)
	for _, tc := range []struct {
		from, to time.Duration
		want     Counts
	}{
		{0, time.Second, Counts{15, 2}},
		{0, 2 * time.Second, Counts{19, 6}},
		{time.Second, 10 * time.Second, Counts{5, 4}},
		{2 * time.Second, 3 * time.Second, Counts{}},
		{-time.Minute, time.Minute, Counts{20, 6}},
	} {
		got, err := r.Sum(ctx, "shop", "2.0.0", t0.Add(tc.from), t0.Add(tc.to))
		if err != nil || got != tc.want {
			t.Errorf("Sum [%v, %v): %+v %v, want %+v", tc.from, tc.to, got, err, tc.want)
		}
	}
	if got, _ := r.Sum(ctx, "shop", "1.0.0", t0, t0.Add(time.Second)); got != (Counts{1, 1}) {
		t.Errorf("other version: %+v", got)
	}
}

func BenchmarkObserve(b *testing.B) {
	c := NewRecorder(nil, "n", nil).Counter("shop", "1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Observe(false)
		}
	})
}
