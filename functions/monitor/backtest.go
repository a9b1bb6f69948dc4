package monitor

import (
	"encoding/json"
	"errors"
	"math"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// MaxBacktestSeries bounds the series one backtest replays.
const MaxBacktestSeries = 1000

// BacktestRequest is the body of POST /api/v1/strategies/test: a stored
// strategy (ID) or a draft (Strategy, validated as on create; its id may
// be left out), replayed over the stored series between Start and End
// (Unix seconds; default the last hour up to now).
type BacktestRequest struct {
	ID       string          `json:"id,omitempty"`
	Strategy json.RawMessage `json:"strategy,omitempty"`
	Start    int64           `json:"start,omitempty"`
	End      int64           `json:"end,omitempty"`
}

// BacktestReply is what a backtest would have sent: the events in order,
// and how many series and points it replayed.
type BacktestReply struct {
	StrategyID string        `json:"strategy_id"`
	Start      int64         `json:"start"`
	End        int64         `json:"end"`
	Series     int           `json:"series"`
	Points     int           `json:"points"`
	Events     []event.Event `json:"events"`
}

// backtestStrategy is POST /api/v1/strategies/test (admin, or a team
// token for a strategy bound to its team's series: it reads every
// matching series, as a metrics query does). The stored series hold
// consolidated values at the finest resolution that covers the window,
// COUNTER and DERIVE already as per-second rates, so the replay judges
// them as gauges of those values.
func (f *Function) backtestStrategy(r *fnapi.Request) error {
	var q BacktestRequest
	if err := r.DecodeJSON(&q); err != nil {
		return err
	}
	if (q.ID == "") == (len(q.Strategy) == 0) {
		return httperr.BadRequest("give either id (a stored strategy) or strategy (a draft), not both or neither")
	}
	var s strategy.Strategy
	if q.ID != "" {
		ctx, cancel := f.storeCtx(r)
		defer cancel()
		var err error
		if s, _, err = f.readStrategy(ctx, r.Principal, q.ID); err != nil {
			return err
		}
	} else {
		var err error
		if s, err = strategy.Decode(q.Strategy); err != nil {
			return answerStrategy(r, prefixFields("strategy.", err))
		}
		if s.ID == "" {
			s.ID = "draft"
		}
	}
	if q.ID == "" && !r.Principal.IsAdmin() {
		if err := ownTeam(r.Principal, &s, ""); err != nil {
			return answerStrategy(r, prefixFields("strategy.", err))
		}
	}
	c, err := strategy.Compile(s)
	if err == nil {
		err = boundToTeam(r.Principal, c)
	}
	if err != nil {
		return answerStrategy(r, prefixFields("strategy.", err))
	}
	if q.End == 0 {
		q.End = f.opts.Now().Unix()
	}
	if q.Start == 0 {
		q.Start = max(q.End-defaultWindow, 0)
	}
	if q.Start < 0 || q.Start >= q.End || q.End > rrd.MaxTime {
		return httperr.BadRequest("start (%d) must be before end (%d), both Unix seconds", q.Start, q.End)
	}
	out := BacktestReply{StrategyID: s.ID, Start: q.Start, End: q.End, Events: []event.Event{}}
	var pts []judge.Point
	filter := seriesFilter{metric: c.Metric, may: readable(r.Principal)}
	var remote []int
	for shard := range f.opts.Shards {
		if f.opts.Series == nil {
			remote = append(remote, shard)
			continue
		}
		ok, err := f.opts.Series.withStore(shard, func(st *seriesstore.Store) error {
			infos, _, err := listShard(st, "", "", MaxBacktestSeries+1, &filter)
			if err != nil {
				return httperr.Unavailable(err, "cannot list series shard %d", shard)
			}
			for _, in := range infos {
				tags := metric.ParseTags(in.Tags)
				if !c.Match(in.Endpoint, in.Metric, tags) {
					continue
				}
				if out.Series++; out.Series > MaxBacktestSeries {
					return httperr.BadRequest("the strategy matches more than %d series; narrow it with tags or endpoints", MaxBacktestSeries)
				}
				v, err := st.Fetch(metric.PK(in.Endpoint, in.Metric, in.Tags), rrd.Query{CF: rrd.Average, Start: q.Start, End: q.End})
				if errors.Is(err, seriesstore.ErrNotFound) {
					continue
				}
				if err != nil {
					return httperr.Unavailable(err, "cannot read series shard %d", shard)
				}
				for i, x := range v.Values {
					if math.IsNaN(x) {
						continue
					}
					pts = append(pts, judge.Point{Endpoint: in.Endpoint, Metric: in.Metric, Tags: tags,
						Timestamp: v.Start + int64(i+1)*v.Step, Step: v.Step, Value: x, Type: judge.Gauge})
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !ok {
			remote = append(remote, shard)
		}
	}
	if len(remote) > 0 {
		if localOnly(r) || !f.forwards() {
			return httperr.Unavailable(nil, "series shard %d is not stored on this node", remote[0])
		}
		if err := f.backtestRemote(r, c, q, remote, &out, &pts); err != nil {
			return err
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Timestamp < pts[j].Timestamp })
	out.Points = len(pts)
	if evs := judge.Backtest(c, pts, judge.BacktestOptions{End: q.End}); len(evs) > 0 {
		out.Events = evs
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// prefixFields puts prefix before the field of every *strategy.FieldError
// in err (a draft's fields are under "strategy.").
func prefixFields(prefix string, err error) error {
	var fs []FieldProblem
	collectFields(err, &fs)
	if len(fs) == 0 {
		return err
	}
	errs := make([]error, len(fs))
	for i, p := range fs {
		errs[i] = &strategy.FieldError{Field: prefix + p.Field, Msg: p.Msg}
	}
	return errors.Join(errs...)
}
