package seriesstore_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, dir string, mod ...func(*seriesstore.Options)) *seriesstore.Store {
	t.Helper()
	o := seriesstore.Options{Dir: dir, Logger: quietLogger()}
	for _, m := range mod {
		m(&o)
	}
	s, err := seriesstore.Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// model is the reference: one in-memory rrd.Series per key, fed the same
// points the store acknowledged.
type model struct {
	series map[string]*rrd.Series
}

func newModel() *model { return &model{series: make(map[string]*rrd.Series)} }

func (m *model) apply(t *testing.T, pts []seriesstore.Point) {
	t.Helper()
	for _, p := range pts {
		s := m.series[p.Key]
		if s == nil {
			spec, err := rrd.FalconSpec(p.Step, p.CounterType)
			if err != nil {
				continue
			}
			if s, err = rrd.NewSeries(spec, max(0, p.Time-86400)); err != nil {
				t.Fatal(err)
			}
			m.series[p.Key] = s
		}
		_ = s.Update(p.Time, p.Value)
	}
}

// compare fetches every function at every resolution (and a few odd
// windows) from store and model and wants identical answers.
func (m *model) compare(t *testing.T, st *seriesstore.Store) {
	t.Helper()
	if st.Len() != len(m.series) {
		t.Fatalf("store has %d series, model %d", st.Len(), len(m.series))
	}
	for key, s := range m.series {
		last := s.State.LastUp
		for _, cf := range []rrd.CF{rrd.Average, rrd.Max, rrd.Min} {
			for _, a := range s.Spec.Archives {
				res := a.PDPs * s.Spec.Step
				for _, q := range []rrd.Query{
					{CF: cf, Start: max(0, last-a.Rows*res), End: last, Step: res},
					{CF: cf, Start: max(0, last-3*res), End: last + 2*res},
				} {
					_, want, err := s.Fetch(q, nil)
					if err != nil {
						t.Fatal(err)
					}
					got, err := st.Fetch(key, q)
					if err != nil {
						t.Fatalf("fetch %q %+v: %v", key, q, err)
					}
					if got.LastUp != last || len(got.Values) != len(want) {
						t.Fatalf("fetch %q %+v: last %d rows %d, model last %d rows %d", key, q, got.LastUp, len(got.Values), last, len(want))
					}
					for i := range want {
						if math.Float64bits(want[i]) != math.Float64bits(got.Values[i]) && !(math.IsNaN(want[i]) && math.IsNaN(got.Values[i])) {
							t.Fatalf("fetch %q %v step %d row %d: store %v, model %v", key, cf, q.Step, i, got.Values[i], want[i])
						}
					}
				}
			}
		}
	}
}

// points makes n seeded points over keys, moving time forward mostly.
func points(r *rand.Rand, keys []string, n int, clock *int64) []seriesstore.Point {
	out := make([]seriesstore.Point, 0, n)
	types := []string{"GAUGE", "COUNTER", "DERIVE"}
	for range n {
		i := r.IntN(len(keys))
		*clock += int64(r.IntN(20))
		out = append(out, seriesstore.Point{
			Key: keys[i], Step: 60, CounterType: types[i%3],
			Time: *clock - int64(r.IntN(90)), Value: float64(r.IntN(100000)) + r.Float64(),
		})
	}
	return out
}

func keysN(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("host%02d/cpu.idle/core=%d", i, i%4)
	}
	return k
}

func TestUpdateFetchMatchesModelAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir, func(o *seriesstore.Options) { o.MaxOpen = 3 }) // evictions on every batch
	m := newModel()
	r := rand.New(rand.NewPCG(1, 2))
	keys := keysN(10)
	clock := int64(1_750_000_000)
	total := seriesstore.Result{}
	for batch := range 60 {
		pts := points(r, keys, 200, &clock)
		res, err := st.Update(pts)
		if err != nil {
			t.Fatal(err)
		}
		total.Accepted += res.Accepted
		total.Stale += res.Stale
		m.apply(t, pts)
		if batch%20 == 19 {
			if err := st.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if total.Accepted == 0 || total.Stale == 0 {
		t.Fatalf("schedule too tame: %+v", total)
	}
	m.compare(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir)
	defer st.Close()
	m.compare(t, st)
}

func TestBadPointsAreRejectedAndLoseNothing(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	long := make([]byte, seriesstore.MaxKeyLen+1)
	for i := range long {
		long[i] = 'a'
	}
	good := seriesstore.Point{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1}
	pts := []seriesstore.Point{
		{Key: "", Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1},
		{Key: string(long), Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1},
		{Key: "h/m", Step: 0, CounterType: "GAUGE", Time: 1_750_000_000, Value: 1},
		{Key: "h/m", Step: 60, CounterType: "HISTOGRAM", Time: 1_750_000_000, Value: 1},
		{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: -5, Value: 1},
		good,
		{Key: "h/m", Step: 30, CounterType: "GAUGE", Time: 1_750_000_060, Value: 1},   // step differs
		{Key: "h/m", Step: 60, CounterType: "COUNTER", Time: 1_750_000_060, Value: 1}, // type differs
		{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: 1_750_000_000, Value: 2},   // duplicate
		{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: 1_750_000_060, Value: math.NaN()},
		{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: 1_750_000_060, Value: 2e300},
		{Key: "h/m", Step: 60, CounterType: "gauge", Time: 1_750_000_060, Value: 3},
	}
	res, err := st.Update(pts)
	if err != nil {
		t.Fatal(err)
	}
	want := seriesstore.Result{Accepted: 2, Stale: 1, Skipped: 2, Rejected: 7}
	if res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	info, err := st.Info("h/m")
	if err != nil || info.LastUp != 1_750_000_060 || info.Step != 60 || info.CounterType != rrd.Gauge {
		t.Fatalf("info %+v, %v", info, err)
	}
	if _, err := st.Fetch("nope", rrd.Query{CF: rrd.Average, Start: 1, End: 2}); !errors.Is(err, seriesstore.ErrNotFound) {
		t.Fatalf("fetch of a missing series: %v", err)
	}
	if _, err := st.Fetch("h/m", rrd.Query{CF: rrd.Average, Start: 10, End: 2}); err == nil {
		t.Fatal("fetch with end before start: no error")
	}
}

func TestListPages(t *testing.T) {
	st := open(t, t.TempDir())
	defer st.Close()
	var pts []seriesstore.Point
	for _, k := range []string{"b/x", "a/y", "a/x", "c/z", "a/z"} {
		typ := "GAUGE"
		if k == "c/z" {
			typ = "COUNTER"
		}
		pts = append(pts, seriesstore.Point{Key: k, Step: 60, CounterType: typ, Time: 1_750_000_000, Value: 1})
	}
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	var seen []string
	after := ""
	for {
		page, more, err := st.List(seriesstore.ListOptions{Prefix: "a/", After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range page {
			seen = append(seen, in.Key)
			after = in.Key
		}
		if !more {
			break
		}
	}
	if fmt.Sprint(seen) != "[a/x a/y a/z]" {
		t.Fatalf("listed %v", seen)
	}
	all, more, _ := st.List(seriesstore.ListOptions{})
	if len(all) != 5 || more {
		t.Fatalf("list all: %d, more %v", len(all), more)
	}
	if c := all[4]; c.Key != "c/z" || c.CounterType != rrd.Counter || c.Step != 60 {
		t.Fatalf("a COUNTER series lists as %+v", c)
	}
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	defer st.Close()
	if _, err := seriesstore.Open(seriesstore.Options{Dir: dir, Logger: quietLogger()}); err == nil {
		t.Fatal("second open succeeded")
	}
}

// TestMaxSeriesBoundsNewSeries: past MaxSeries a point of a new series is
// refused and counted; the existing series keep taking points, also after
// a reopen.
func TestMaxSeriesBoundsNewSeries(t *testing.T) {
	dir := t.TempDir()
	limit := func(o *seriesstore.Options) { o.MaxSeries = 2 }
	st := open(t, dir, limit)
	p := func(key string, at int64) seriesstore.Point {
		return seriesstore.Point{Key: key, Step: 60, CounterType: "GAUGE", Time: at, Value: 1}
	}
	res, err := st.Update([]seriesstore.Point{p("h/a", 1_750_000_000), p("h/b", 1_750_000_000), p("h/c", 1_750_000_000), p("h/c", 1_750_000_060)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (seriesstore.Result{Accepted: 2, OverLimit: 2}); res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir, limit)
	defer st.Close()
	res, err = st.Update([]seriesstore.Point{p("h/a", 1_750_000_060), p("h/d", 1_750_000_060)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (seriesstore.Result{Accepted: 1, OverLimit: 1}); res != want {
		t.Fatalf("after reopen %+v, want %+v", res, want)
	}
	if st.Len() != 2 {
		t.Fatalf("%d series, want 2", st.Len())
	}
}

// TestFullDiskRefusesNewSeriesOnly: when the file system has no room to
// grow a segment for a new series (ENOSPC from fallocate), that series'
// points are refused and counted, and the store goes on: the series it
// has take their points, and a new series is stored once there is room
// again. (The store used to close itself, every shard's series with it.)
func TestFullDiskRefusesNewSeriesOnly(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	defer st.Close()
	p := func(key string, at int64) seriesstore.Point {
		return seriesstore.Point{Key: key, Step: 60, CounterType: "GAUGE", Time: at, Value: float64(at % 1000)}
	}
	if _, err := st.Update([]seriesstore.Point{p("h/a", 1_750_000_000)}); err != nil {
		t.Fatal(err)
	}
	seriesstore.SetAllocate(st, func(*os.File, int64, int64) error { return syscall.ENOSPC })
	res, err := st.Update([]seriesstore.Point{p("h/a", 1_750_000_060), p("h/b", 1_750_000_060), p("h/a", 1_750_000_120)})
	if err != nil {
		t.Fatalf("a full disk closed the store: %v", err)
	}
	if want := (seriesstore.Result{Accepted: 2, NoSpace: 1}); res != want {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	seriesstore.SetAllocate(st, seriesstore.Allocate)
	res, err = st.Update([]seriesstore.Point{p("h/a", 1_750_000_180), p("h/b", 1_750_000_180)})
	if err != nil || res != (seriesstore.Result{Accepted: 2}) {
		t.Fatalf("with room again: %+v %v", res, err)
	}
	if st.Len() != 2 {
		t.Fatalf("%d series, want 2", st.Len())
	}
}
