package judge

import (
	"math"
	"testing"

	"github.com/wharfhq/wharf/monitoring/strategy"
)

func check(t *testing.T, fn, op string, right float64) strategy.Check {
	t.Helper()
	f, err := strategy.ParseFunc(fn)
	if err != nil {
		t.Fatal(err)
	}
	o := strategy.GT
	if op != "" {
		if o, err = strategy.ParseOperator(op); err != nil {
			t.Fatal(err)
		}
	}
	return strategy.Check{Func: f, Op: o, Right: right}
}

func gaugeWindow(vals ...float64) window {
	pts := make([]Sample, len(vals))
	for i, v := range vals {
		pts[i] = Sample{T: int64(60 * (i + 1)), V: v}
	}
	return window{pts: pts}
}

// TestFunctions is every function of Falcon's judge on GAUGE values
// (oldest first), with the left value, the decision and whether there were
// enough values; the examples follow Falcon's documentation of each
// function.
func TestFunctions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fn, op string
		right  float64
		vals   []float64
		left   float64
		trig   bool
		enough bool
	}{
		// all(#3)>90: the last 3 values all above 90; left is the newest.
		{"all(#3)", ">", 90, []float64{95, 91, 92}, 92, true, true},
		{"all(#3)", ">", 90, []float64{95, 85, 92}, 92, false, true},
		{"all(#3)", ">", 90, []float64{50, 95, 91, 92}, 92, true, true},
		{"all(#3)", ">", 90, []float64{91, 92}, 0, false, false},
		// max(#3)>90: the largest of the last 3.
		{"max(#3)", ">", 90, []float64{10, 95, 20}, 95, true, true},
		{"max(#3)", ">", 90, []float64{95, 10, 20, 30}, 30, false, true},
		// min(#3)<10: the smallest of the last 3.
		{"min(#3)", "<", 10, []float64{20, 5, 30}, 5, true, true},
		{"min(#3)", "<", 10, []float64{20, 15, 30}, 15, false, true},
		// sum(#3)>100 and avg(#3)>=40.
		{"sum(#3)", ">", 100, []float64{30, 40, 50}, 120, true, true},
		{"sum(#3)", ">", 200, []float64{30, 40, 50}, 120, false, true},
		{"avg(#3)", ">=", 40, []float64{30, 40, 50}, 40, true, true},
		{"avg(#3)", ">", 40, []float64{30, 40, 50}, 40, false, true},
		// diff(#3)>5: newest minus each of the 3 before it; the first that
		// holds decides, else left is the last difference computed.
		{"diff(#3)", ">", 5, []float64{10, 12, 20, 30}, 10, true, true},
		{"diff(#3)", ">", 5, []float64{10, 12, 20, 14}, 4, false, true},
		{"diff(#3)", ">", 5, []float64{12, 20, 30}, 0, false, false},
		// pdiff(#2)>50: the same as a percentage of the older value; zeros skipped.
		{"pdiff(#2)", ">", 50, []float64{0, 10, 16}, 60, true, true},
		{"pdiff(#2)", ">", 50, []float64{10, 0, 12}, 20, false, true},
		{"pdiff(#2)", ">", 50, []float64{0, 0, 5}, 0, false, true},
		// lookup(#2,3)>10: at least 2 of the last 3 hold; left is the newest.
		{"lookup(#2,3)", ">", 10, []float64{11, 5, 12}, 12, true, true},
		{"lookup(#2,3)", ">", 10, []float64{11, 5, 5}, 5, false, true},
		{"lookup(#2,3)", ">", 10, []float64{11, 12, 5, 5}, 5, false, true},
		{"lookup(#1,1)", "==", 7, []float64{7.00005}, 7.00005, true, true},
		// stddev(#5)=k: the newest outside mean ± k·σ of the last 5
		// (population σ); the operator is not used.
		{"stddev(#5)", "", 2, []float64{10, 10, 10, 10, 10}, 10, false, true},
		{"stddev(#5)", "", 2, []float64{10, 12, 10, 12, 30}, 30, false, true},
		{"stddev(#5)", "", 1.5, []float64{10, 12, 10, 12, 30}, 30, true, true},
		{"stddev(#5)", "", 1.5, []float64{10, 12, 10, 30}, 0, false, false},
		// kdiff(#2,2)>5: each of the newest 2 minus each of the oldest 2.
		{"kdiff(#2,2)", ">", 5, []float64{10, 10, 20, 20}, 10, true, true},
		{"kdiff(#2,2)", ">", 5, []float64{10, 10, 20, 14}, 4, false, true},
		{"kdiff(#2,2)", ">", 5, []float64{10, 10, 20, 0}, 0, false, true}, // Falcon: a zero newest value ends untriggered
		// kpdiff(#2,2)>40: as a percentage of the newest value.
		{"kpdiff(#2,2)", ">", 40, []float64{10, 10, 20, 20}, 50, true, true},
		{"kpdiff(#2,2)", ">", 60, []float64{10, 10, 20, 20}, 50, false, true},
		{"kpdiff(#2,2)", ">", 40, []float64{10, 10, 20}, 0, false, false},
	}
	for _, tc := range cases {
		ch := check(t, tc.fn, tc.op, tc.right)
		r := evaluate(&ch, gaugeWindow(tc.vals...))
		if r.enough != tc.enough || r.triggered != tc.trig || (tc.enough && r.left != tc.left) {
			t.Errorf("%s %s %v over %v = left %v triggered %v enough %v; want %v %v %v",
				tc.fn, tc.op, tc.right, tc.vals, r.left, r.triggered, r.enough, tc.left, tc.trig, tc.enough)
		}
	}
}

// TestCounterRates: COUNTER and DERIVE are judged on per-second rates
// between consecutive points, so #N needs N+1 points; a reset gives a
// negative rate, as in Falcon (no clamping).
func TestCounterRates(t *testing.T) {
	t.Parallel()
	pts := func(tv ...int64) window {
		w := window{rate: true}
		for i := 0; i < len(tv); i += 2 {
			w.pts = append(w.pts, Sample{T: tv[i], V: float64(tv[i+1])})
		}
		return w
	}
	cases := []struct {
		fn, op string
		right  float64
		w      window
		left   float64
		trig   bool
		enough bool
	}{
		{"all(#2)", ">", 5, pts(0, 0, 60, 600, 120, 1200), 10, true, true},
		{"all(#2)", ">", 5, pts(0, 0, 60, 600, 180, 1200), 5, false, true}, // 600 over 120 s
		{"all(#2)", ">", 5, pts(60, 600, 120, 1200), 0, false, false},
		{"min(#2)", "<", 0, pts(0, 1000, 60, 0, 120, 600), -1000.0 / 60, true, true},
		{"avg(#1)", "==", 10, pts(0, 0, 60, 600), 10, true, true},
	}
	for _, tc := range cases {
		ch := check(t, tc.fn, tc.op, tc.right)
		r := evaluate(&ch, tc.w)
		if r.enough != tc.enough || r.triggered != tc.trig || (tc.enough && r.left != tc.left) {
			t.Errorf("%s %s %v over %v = %+v; want left %v triggered %v enough %v", tc.fn, tc.op, tc.right, tc.w.pts, r, tc.left, tc.trig, tc.enough)
		}
		if tc.enough && r.oldest != tc.w.pts[1].T && ch.Func.Values() == len(tc.w.pts)-1 {
			t.Errorf("%s: oldest value time %d, want the newer point of the oldest pair %d", tc.fn, r.oldest, tc.w.pts[1].T)
		}
	}
	// The whole pipeline: Judge reads the counter type of the point.
	c := compile(t, strategy.Strategy{Func: "all(#2)", Operator: ">", RightValue: 5})
	in := series(0, 60, 0, 600, 1200)
	for i := range in {
		in[i].Type = Counter
	}
	if _, evs := feed(c, State{}, in); brief(evs) != "PROBLEM#1@120" || evs[0].LeftValue != 10 {
		t.Errorf("counter events %s %+v", brief(evs), evs)
	}
	if math.IsNaN(float64(evaluate(&c.Fire, window{pts: []Sample{{60, 1}, {120, 1}}, rate: true}).left)) {
		t.Error("a flat counter gave NaN")
	}
}
