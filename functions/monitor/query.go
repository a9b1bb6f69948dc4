package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// MaxQuerySeries bounds the series of one query.
const MaxQuerySeries = 100

// DefaultMaxQueryValues is the default of Options.MaxQueryValues.
const DefaultMaxQueryValues = 1_000_000

// defaultWindow is the query window when start is not given (seconds).
const defaultWindow = 3600

// SeriesRef names a series: endpoint, metric and tags ("k=v,..." in any
// order; they are put in Falcon's canonical order).
type SeriesRef struct {
	Endpoint string `json:"endpoint"`
	Metric   string `json:"metric"`
	Tags     string `json:"tags"`
}

// QueryRequest is the body of POST /api/v1/metrics/query; the GET form
// takes the same as parameters, endpoint and metric repeated (every
// endpoint × every metric, with one tags). Start and End are Unix seconds
// (default: the last hour), CF is AVERAGE (default), MAX or MIN, Step a
// wished resolution in seconds (0: the finest that covers the window).
type QueryRequest struct {
	Series []SeriesRef `json:"series"`
	Start  int64       `json:"start"`
	End    int64       `json:"end"`
	CF     string      `json:"cf"`
	Step   int64       `json:"step"`
}

// Sample is one value of a series: the interval ending at Timestamp.
type Sample struct {
	Timestamp int64       `json:"timestamp"`
	Value     event.Value `json:"value"` // unknown (NaN) is JSON null
}

// SeriesValues is one series of a query answer. Found is false when no
// point of the series was ever stored (Values is then empty).
type SeriesValues struct {
	SeriesRef
	Found bool `json:"found"`
	// Node is the node that read the series from its store (the shard's
	// owner; a shard that moved starts empty on its new owner).
	Node        string   `json:"node,omitempty"`
	CounterType string   `json:"counterType,omitempty"`
	CF          string   `json:"cf"`
	Start       int64    `json:"start"`
	End         int64    `json:"end"`
	Step        int64    `json:"step"`
	Values      []Sample `json:"values"`
}

// QueryReply is the answer of a query, series in the order asked.
type QueryReply struct {
	Series []SeriesValues `json:"series"`
}

func (f *Function) queryGet(r *fnapi.Request) error {
	a := r.Ctx.QueryArgs()
	var q QueryRequest
	var err error
	if q.Start, err = intArg(a, "start"); err != nil {
		return err
	}
	if q.End, err = intArg(a, "end"); err != nil {
		return err
	}
	if q.Step, err = intArg(a, "step"); err != nil {
		return err
	}
	q.CF = string(a.Peek("cf"))
	endpoints, metrics := a.PeekMulti("endpoint"), a.PeekMulti("metric")
	if len(endpoints) == 0 {
		return httperr.BadRequest("endpoint is required (repeat it for several endpoints)")
	}
	if len(metrics) == 0 {
		return httperr.BadRequest("metric is required (repeat it for several metrics)")
	}
	if len(endpoints)*len(metrics) > MaxQuerySeries {
		return httperr.BadRequest("endpoint × metric names %d series; at most %d per query", len(endpoints)*len(metrics), MaxQuerySeries)
	}
	tags := string(a.Peek("tags"))
	for _, e := range endpoints {
		for _, m := range metrics {
			q.Series = append(q.Series, SeriesRef{Endpoint: string(e), Metric: string(m), Tags: tags})
		}
	}
	return f.query(r, q)
}

func intArg(a *fasthttp.Args, name string) (int64, error) {
	b := a.Peek(name)
	if len(b) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, httperr.BadRequest("%s must be a non-negative integer (Unix seconds for start and end), got %q", name, b)
	}
	return n, nil
}

func (f *Function) queryPost(r *fnapi.Request) error {
	var q QueryRequest
	if err := r.DecodeJSON(&q); err != nil {
		return err
	}
	if len(q.Series) == 0 {
		return httperr.BadRequest("series is required: a list of {endpoint, metric, tags}")
	}
	if len(q.Series) > MaxQuerySeries {
		return httperr.BadRequest("series has %d entries; at most %d per query", len(q.Series), MaxQuerySeries)
	}
	if q.Start < 0 || q.End < 0 || q.Step < 0 {
		return httperr.BadRequest("start, end and step must not be negative")
	}
	for i, s := range q.Series {
		if s.Endpoint == "" || s.Metric == "" {
			return httperr.BadRequest("series[%d]: endpoint and metric are required", i)
		}
	}
	return f.query(r, q)
}

func (f *Function) query(r *fnapi.Request, q QueryRequest) error {
	if q.CF == "" {
		q.CF = "AVERAGE"
	}
	cf, err := rrd.ParseCF(q.CF)
	if err != nil || cf == rrd.Last {
		return httperr.BadRequest("cf must be AVERAGE, MAX or MIN, got %q", q.CF)
	}
	if q.End == 0 {
		q.End = f.opts.Now().Unix()
	}
	if q.Start == 0 {
		q.Start = max(q.End-defaultWindow, 0)
	}
	if q.Start >= q.End {
		return httperr.BadRequest("start (%d) must be before end (%d)", q.Start, q.End)
	}
	if q.End > rrd.MaxTime || q.Step > rrd.MaxTime {
		return httperr.BadRequest("end and step must be at most %d", rrd.MaxTime)
	}
	q.CF = cf.String()
	out := QueryReply{Series: make([]SeriesValues, len(q.Series))}
	remote := map[int][]int{} // shard -> indexes of q.Series
	total := 0
	for i := range q.Series {
		ref := &q.Series[i]
		ref.Tags = metric.CanonicalTags(ref.Tags)
		if err := canRead(r.Principal, *ref); err != nil {
			return err
		}
		key := metric.PK(ref.Endpoint, ref.Metric, ref.Tags)
		shard := f.ring.Index(key)
		local, err := f.fetchLocal(shard, key, *ref, cf, q, &out.Series[i])
		if err != nil {
			return err
		}
		if local {
			// Checked as the answer grows, so a too large one stops early.
			if total += len(out.Series[i].Values); total > f.opts.MaxQueryValues {
				return f.tooManyValues(total)
			}
			continue
		}
		if localOnly(r) || !f.forwards() {
			return httperr.Unavailable(nil, "series shard %d is not stored on this node", shard)
		}
		remote[shard] = append(remote[shard], i)
	}
	if len(remote) > 0 {
		if err := f.queryOwners(r, q, remote, out.Series); err != nil {
			return err
		}
		total = 0
		for i := range out.Series {
			total += len(out.Series[i].Values)
		}
		if total > f.opts.MaxQueryValues {
			return f.tooManyValues(total)
		}
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// tooManyValues is the 400 of an answer past Options.MaxQueryValues.
func (f *Function) tooManyValues(total int) error {
	return httperr.BadRequest("the answer holds more than %d values (series × points, %d so far): narrow start and end, raise step, or ask for fewer series", f.opts.MaxQueryValues, total)
}

// fetchLocal reads the series of key into sv when this node stores its
// shard, and reports whether it does.
func (f *Function) fetchLocal(shard int, key string, ref SeriesRef, cf rrd.CF, q QueryRequest, sv *SeriesValues) (bool, error) {
	if f.opts.Series == nil {
		return false, nil
	}
	*sv = SeriesValues{SeriesRef: ref, CF: cf.String(), Node: f.nodeID(), Values: []Sample{}}
	return f.opts.Series.withStore(shard, func(st *seriesstore.Store) error {
		v, err := st.Fetch(key, rrd.Query{CF: cf, Start: q.Start, End: q.End, Step: q.Step})
		switch {
		case errors.Is(err, seriesstore.ErrNotFound):
			sv.Start, sv.End = q.Start, q.End
		case err != nil:
			return httperr.Unavailable(err, "cannot read series shard %d", shard)
		default:
			sv.Found, sv.CounterType = true, v.CounterType.String()
			sv.Start, sv.End, sv.Step = v.Start, v.End, v.Step
			sv.Values = make([]Sample, len(v.Values))
			for i, x := range v.Values {
				sv.Values[i] = Sample{Timestamp: v.Start + int64(i+1)*v.Step, Value: event.Value(x)}
			}
		}
		return nil
	})
}

// queryOwners asks the owners of the remote shards for their series (one
// call per owner, at once) and puts the answers at their indexes in out.
func (f *Function) queryOwners(r *fnapi.Request, q QueryRequest, remote map[int][]int, out []SeriesValues) error {
	groups, err := f.groupByOwner(r.Context(), sortedShards(remote))
	if err != nil {
		return err
	}
	errs := make([]error, len(groups))
	call := newForwardCall(r)
	var wg sync.WaitGroup
	for gi, g := range groups {
		var idx []int
		sub := QueryRequest{Start: q.Start, End: q.End, CF: q.CF, Step: q.Step}
		for _, s := range g.shards {
			for _, i := range remote[s] {
				idx = append(idx, i)
				sub.Series = append(sub.Series, q.Series[i])
			}
		}
		body, err := json.Marshal(sub)
		if err != nil {
			return fmt.Errorf("cannot forward a query: %w", err)
		}
		wg.Go(func() {
			var rep QueryReply
			if errs[gi] = f.forward(call, g, "query", fasthttp.MethodPost, "/api/v1/metrics/query", body, &rep, shardList(g.shards)); errs[gi] != nil {
				return
			}
			if len(rep.Series) != len(idx) {
				errs[gi] = httperr.Unavailable(nil, "series shards %v: node %s answered %d series for %d", g.shards, g.owner.Node, len(rep.Series), len(idx))
				return
			}
			for k, i := range idx {
				out[i] = rep.Series[k]
			}
		})
	}
	wg.Wait()
	// A 400 (an owner's part alone is too large) wins over a 503.
	for _, err := range errs {
		var he *httperr.Error
		if errors.As(err, &he) && he.Status == fasthttp.StatusBadRequest {
			return err
		}
	}
	return errors.Join(errs...)
}
