package rrd_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

const t0 = int64(1_700_000_040) // on the 60 s grid

func falconSeries(t *testing.T, typ string) *rrd.Series {
	t.Helper()
	spec, err := rrd.FalconSpec(60, typ)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rrd.NewSeries(spec, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fmtValues(vs []float64) string {
	out := ""
	for i, v := range vs {
		if i > 0 {
			out += " "
		}
		if math.IsNaN(v) {
			out += "NaN"
		} else {
			out += fmt.Sprint(v)
		}
	}
	return out
}

// The worked examples below are what `rrdtool fetch` prints for the same
// create and updates (checked by hand against rrdtool 1.7).
func TestWorkedExamples(t *testing.T) {
	for _, c := range []struct {
		name string
		typ  string
		pts  [][2]float64 // seconds after t0, value
		want string       // AVERAGE, t0..t0+360 at 60 s: rows ending t0+60 .. t0+420
	}{
		{
			// On the grid; an update off the grid splits its interval across the
			// boundary (35 = (30×30 + 40×30)/60); a PDP half known is known (40);
			// a gap beyond the heartbeat (2×60) is unknown.
			name: "gauge", typ: "GAUGE",
			pts:  [][2]float64{{60, 10}, {120, 20}, {150, 30}, {210, 40}, {400, 5}},
			want: "10 20 35 40 NaN NaN NaN",
		},
		{
			// The first value has nothing to differ from; a drop (counter
			// reset) is a negative rate, below DERIVE's minimum 0; a sign
			// change is unknown (rrdtool's rrd_diff).
			name: "derive", typ: "DERIVE",
			pts:  [][2]float64{{60, 100}, {120, 160}, {180, 100}, {240, 220}, {300, -5}, {360, 3}},
			want: "NaN 1 NaN 2 NaN NaN NaN",
		},
		{
			// COUNTER is stored as DERIVE; values are truncated first
			// (160.9 → 160, 280.99 → 280).
			name: "counter", typ: "COUNTER",
			pts:  [][2]float64{{60, 100.5}, {120, 160.9}, {180, 280.99}},
			want: "NaN 1 2 NaN NaN NaN NaN",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := falconSeries(t, c.typ)
			for _, p := range c.pts {
				if err := s.Update(t0+int64(p[0]), p[1]); err != nil {
					t.Fatalf("update %v: %v", p, err)
				}
			}
			plan, vals, err := s.Fetch(rrd.Query{CF: rrd.Average, Start: t0, End: t0 + 360, Step: 60}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Start != t0 || plan.End != t0+420 || plan.Step != 60 {
				t.Fatalf("plan %+v", plan)
			}
			if got := fmtValues(vals); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestStaleAndSkippedPointsChangeNothing(t *testing.T) {
	s := falconSeries(t, "GAUGE")
	if err := s.Update(t0+60, 1); err != nil {
		t.Fatal(err)
	}
	before := s.State.Clone()
	for _, c := range []struct {
		at   int64
		v    float64
		want error
	}{
		{t0 + 60, 2, rrd.ErrStale}, // duplicate
		{t0 + 30, 2, rrd.ErrStale}, // late
		{t0 + 90, 2e300, rrd.ErrSkipped},
		{t0 + 90, -1.5e300, rrd.ErrSkipped},
		{t0 + 90, 1e-301, rrd.ErrSkipped},
		{t0 + 90, math.NaN(), rrd.ErrSkipped},
		{t0 + 90, math.Inf(1), rrd.ErrSkipped},
		{rrd.MaxTime + 1, 1, rrd.ErrTime},
	} {
		if err := s.Update(c.at, c.v); !errors.Is(err, c.want) {
			t.Fatalf("update %d %v: %v, want %v", c.at, c.v, err, c.want)
		}
	}
	if fmt.Sprint(s.State) != fmt.Sprint(before) {
		t.Fatalf("state changed: %+v, was %+v", s.State, before)
	}
	for _, v := range []float64{1e300, -1e300, 0, 1e-300} {
		before := s.State.LastUp
		if err := s.Update(before+1, v); err != nil {
			t.Fatalf("value %v at the edge of the range: %v", v, err)
		}
	}
}

func TestFalconInt(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want int64
	}{
		{1.9, 1}, {-1.9, -1}, {0.5, 0}, {9.2e18, 9200000000000000000},
		{1e19, math.MinInt64}, {-1e19, math.MinInt64}, {9223372036854775808, math.MinInt64},
	} {
		if got := rrd.FalconInt(c.v); got != c.want {
			t.Errorf("FalconInt(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestFetchPicksArchivesLikeRRDTool(t *testing.T) {
	s := falconSeries(t, "GAUGE")
	now := t0 + 30*86400
	for at := t0 + 60; at <= now; at += 60 {
		_ = s.Update(at, 1)
	}
	for _, c := range []struct {
		q        rrd.Query
		wantStep int64
	}{
		{rrd.Query{CF: rrd.Average, Start: now - 3600, End: now}, 60},               // finest covering
		{rrd.Query{CF: rrd.Max, Start: now - 3600, End: now}, 60},                   // the 1-step AVERAGE serves MAX
		{rrd.Query{CF: rrd.Max, Start: now - 3600, End: now, Step: 300}, 300},       // wished step
		{rrd.Query{CF: rrd.Average, Start: now - 86400, End: now}, 300},             // 12 h of 1-step rows do not cover a day
		{rrd.Query{CF: rrd.Min, Start: now - 7*86400, End: now}, 1200},              // a week: 20-step rows
		{rrd.Query{CF: rrd.Min, Start: now - 400*86400, End: now}, 43200},           // beyond every archive: most coverage
		{rrd.Query{CF: rrd.Average, Start: now - 3600, End: now, Step: 1e6}, 43200}, // closest step to a huge wish
	} {
		plan, vals, err := s.Fetch(c.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Step != c.wantStep || len(vals) != plan.Rows() || plan.Start%plan.Step != 0 || plan.End%plan.Step != 0 {
			t.Errorf("%+v: plan %+v (%d values), want step %d", c.q, plan, len(vals), c.wantStep)
		}
	}
	if _, _, err := s.Fetch(rrd.Query{CF: rrd.Last, Start: now - 86400, End: now}, nil); err != nil {
		t.Errorf("LAST is served by the 1-step archive: %v", err)
	}
	for _, q := range []rrd.Query{
		{CF: rrd.Average, Start: now, End: now - 1},
		{CF: rrd.Average, Start: -1, End: now},
		{CF: rrd.Average, Start: 0, End: rrd.MaxTime + 1},
		{CF: rrd.Average, Start: 0, End: now, Step: -60},
		{CF: rrd.Average, Start: now - 3600, End: now + 2e8, Step: 60}, // 3.3M rows: too many
	} {
		if _, _, err := s.Fetch(q, nil); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}
