package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// backtestRemote gathers the points of the series the strategy selects
// in shards stored on other nodes, through their owners' series index
// and queries (forwarded like any query), into out and pts.
func (f *Function) backtestRemote(r *fnapi.Request, c *strategy.Compiled, q BacktestRequest, shards []int, out *BacktestReply, pts *[]judge.Point) error {
	groups, err := f.groupByOwner(r.Context(), shards)
	if err != nil {
		return err
	}
	call := newForwardCall(r)
	for _, g := range groups {
		refs, err := f.remoteMatches(call, g, c, out)
		if err != nil {
			return err
		}
		for i := 0; i < len(refs); i += MaxQuerySeries {
			sub := QueryRequest{Series: refs[i:min(i+MaxQuerySeries, len(refs))], Start: q.Start, End: q.End, CF: "AVERAGE"}
			body, err := json.Marshal(sub)
			if err != nil {
				return fmt.Errorf("cannot forward a backtest query: %w", err)
			}
			var rep QueryReply
			if err := f.forward(call, g, "query", fasthttp.MethodPost, "/api/v1/metrics/query", body, &rep, shardList(g.shards)); err != nil {
				return err
			}
			for _, sv := range rep.Series {
				if !sv.Found {
					continue
				}
				tags := metric.ParseTags(sv.Tags)
				for _, smp := range sv.Values {
					if x := float64(smp.Value); !math.IsNaN(x) {
						*pts = append(*pts, judge.Point{Endpoint: sv.Endpoint, Metric: sv.Metric, Tags: tags,
							Timestamp: smp.Timestamp, Step: sv.Step, Value: x, Type: judge.Gauge})
					}
				}
			}
		}
	}
	return nil
}

// remoteMatches lists the series of the strategy's metric in an owner's
// shards and returns those the strategy selects, counted in out.Series.
func (f *Function) remoteMatches(call *forwardCall, g *ownerGroup, c *strategy.Compiled, out *BacktestReply) ([]SeriesRef, error) {
	var refs []SeriesRef
	after := ""
	for {
		args := url.Values{"metric": {c.Metric}, "limit": {fmt.Sprint(maxSeriesLimit)}}
		if after != "" {
			args.Set("after", after)
		}
		var rep SeriesReply
		if err := f.forward(call, g, "series", fasthttp.MethodGet, "/api/v1/metrics/series?"+args.Encode(), nil, &rep, shardList(g.shards)); err != nil {
			return nil, err
		}
		for _, in := range rep.Series {
			if !c.Match(in.Endpoint, in.Metric, metric.ParseTags(in.Tags)) {
				continue
			}
			if out.Series++; out.Series > MaxBacktestSeries {
				return nil, httperr.BadRequest("the strategy matches more than %d series; narrow it with tags or endpoints", MaxBacktestSeries)
			}
			refs = append(refs, SeriesRef{Endpoint: in.Endpoint, Metric: in.Metric, Tags: in.Tags})
		}
		if rep.Next == "" {
			return refs, nil
		}
		after = rep.Next
	}
}
