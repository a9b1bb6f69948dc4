package judge

import (
	"testing"

	"github.com/wharfhq/wharf/monitoring/strategy"
)

func TestBacktest(t *testing.T) {
	t.Parallel()
	s := busy
	s.Endpoints = []string{"web-*"}
	c := compile(t, s)
	a := series(0, 60, repeat(95, 8)...)
	b := series(0, 60, 50, 50, 95, 95, 95, 50, 50, 50)
	other := series(0, 60, repeat(99, 8)...)
	for i := range b {
		b[i].Endpoint = "web-2"
		other[i].Endpoint = "db-1"
	}
	var pts []Point
	for i := range a { // interleaved by time, as stored series merge
		pts = append(pts, a[i], b[i], other[i])
	}
	evs := Backtest(c, pts, BacktestOptions{})
	if got, want := brief(evs), "PROBLEM#1@120 PROBLEM#1@240 OK#1@300 PROBLEM#2@420"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	for _, e := range evs {
		if e.Endpoint == "db-1" {
			t.Errorf("an unmatched series was judged: %+v", e)
		}
	}
	if evs := Backtest(c, nil, BacktestOptions{}); len(evs) != 0 {
		t.Errorf("no points: %s", brief(evs))
	}
}

func TestBacktestNoData(t *testing.T) {
	t.Parallel()
	s := strategy.Strategy{Func: "all(#1)", Operator: ">", RightValue: 90, MaxStep: 3, NoData: 2}
	c := compile(t, s)
	pts := append(series(0, 60, 50, 95), series(600, 60, 50, 50)...)
	evs := Backtest(c, pts, BacktestOptions{End: 2000})
	if got, want := brief(evs), "PROBLEM#1@60 NODATA#1@180 OK#1@600 NODATA#1@780"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if evs := Backtest(c, pts, BacktestOptions{}); brief(evs) != "PROBLEM#1@60 NODATA#1@180 OK#1@600" {
		t.Errorf("without End: %s", brief(evs))
	}
}
