package seriesstore_test

import (
	"math/rand/v2"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Deferred application changes nothing a user sees: every Update counts
// the same accepted, stale and skipped points as a store that applies at
// once, every fetch answers as the reference model (a read applies its
// series' waiting points), and a store abandoned with points still
// waiting (a crash: no checkpoint, no close) replays them from its log.
func TestDeferredPointsCountAndReadAsAppliedAndSurviveACrash(t *testing.T) {
	t.Parallel()
	for _, maxDeferred := range []int{7, 500, 1 << 30} {
		direct := open(t, t.TempDir(), func(o *seriesstore.Options) { o.MaxDeferredPoints = -1 })
		dir := t.TempDir()
		st := open(t, dir, func(o *seriesstore.Options) { o.MaxDeferredPoints = maxDeferred })
		m := newModel()
		r := rand.New(rand.NewPCG(7, uint64(maxDeferred)))
		keys := keysN(12)
		clock := int64(1_750_000_000)
		for batch := range 40 {
			pts := points(r, keys, 150, &clock)
			if batch%5 == 0 { // values rrdtool skips
				pts[0].Value, pts[1].Value = 1e301, -5
			}
			want, err := direct.Update(pts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.Update(pts)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("max %d batch %d: deferred store counted %+v, direct store %+v", maxDeferred, batch, got, want)
			}
			m.apply(t, pts)
			if batch == 20 {
				m.compare(t, st) // reads in between
			}
		}
		m.compare(t, st)
		more := points(r, keys, 300, &clock)
		if _, err := st.Update(more); err != nil {
			t.Fatal(err)
		}
		m.apply(t, more)
		st.Abandon()
		re := open(t, dir)
		m.compare(t, re)
		if err := re.Close(); err != nil {
			t.Fatal(err)
		}
		if err := direct.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
