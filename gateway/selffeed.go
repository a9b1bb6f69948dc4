package gateway

import (
	"bytes"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/internal/promexp"
)

// Metric names the gateway feeds to the monitor each step (see
// docs/monitoring-ingest.md). Route points are tagged route=,service=;
// service points service=.
const (
	FeedRoutePrefix   = "wharf.route."
	FeedServicePrefix = "wharf.service."
)

// durationBucket is the sample prefix of the route latency histogram's
// buckets in the Prometheus exposition.
const durationBucket = "wharf_gateway_route_request_duration_seconds_bucket{"

// feedCounts are one route's cumulative counts at a step's end.
type feedCounts struct {
	requests, errors uint64
	buckets          []uint64 // cumulative per le, ascending, +Inf last
}

// selfFeed turns the route counters into a step's points. It reads the
// counters the request path already updates (nothing new per request): the
// requests per status class and the latency histogram's buckets, which it
// reads from the metric set's exposition once per step.
type selfFeed struct {
	g        *Gateway
	endpoint string
	step     int64
	bounds   []float64

	mu   sync.Mutex
	prev map[string]feedCounts // by route name
	buf  bytes.Buffer
}

func newSelfFeed(g *Gateway, endpoint string, step time.Duration) *selfFeed {
	return &selfFeed{g: g, endpoint: endpoint, step: max(1, int64(step/time.Second)), bounds: promexp.LatencyBuckets(), prev: map[string]feedCounts{}}
}

// window is one route's or service's counts during a step.
type window struct {
	requests, errors uint64
	buckets          []uint64 // per bucket, not cumulative
}

func (w *window) add(o window) {
	w.requests += o.requests
	w.errors += o.errors
	if w.buckets == nil {
		w.buckets = make([]uint64, len(o.buckets))
	}
	for i := range o.buckets {
		if i < len(w.buckets) {
			w.buckets[i] += o.buckets[i]
		}
	}
}

// collect returns the points of the step ending at now: per route and per
// service, requests, errors (5xx or no answer), error_rate and, when there
// were requests, latency_p50 and latency_p99 (seconds).
func (f *selfFeed) collect(now time.Time) []feed.Point {
	f.mu.Lock()
	defer f.mu.Unlock()
	hist := f.histograms()
	routes := f.g.snap.Load().routes
	services := map[string]window{}
	var order []string
	points := make([]feed.Point, 0, len(routes)*5)
	ts := now.Unix()
	for _, r := range routes {
		cur := feedCounts{buckets: hist[r.name]}
		for _, c := range r.m.byClass {
			cur.requests += c.Get()
		}
		cur.errors = r.m.byClass[5].Get() + r.m.byClass[0].Get()
		prev := f.prev[r.name]
		f.prev[r.name] = cur
		w := window{requests: cur.requests - min(prev.requests, cur.requests), errors: cur.errors - min(prev.errors, cur.errors), buckets: deltas(prev.buckets, cur.buckets)}
		points = f.appendWindow(points, FeedRoutePrefix, feed.Tags("route", r.name, "service", r.service), ts, w)
		if r.service != "" {
			s, seen := services[r.service]
			if !seen {
				order = append(order, r.service)
			}
			s.add(w)
			services[r.service] = s
		}
	}
	for _, name := range order {
		points = f.appendWindow(points, FeedServicePrefix, feed.Tags("service", name), ts, services[name])
	}
	return points
}

func (f *selfFeed) appendWindow(points []feed.Point, prefix, tags string, ts int64, w window) []feed.Point {
	p := feed.Point{Endpoint: f.endpoint, Timestamp: ts, Step: f.step, CounterType: feed.Gauge, Tags: tags}
	add := func(name string, v float64) {
		p.Metric, p.Value = prefix+name, v
		points = append(points, p)
	}
	add("requests", float64(w.requests))
	add("errors", float64(w.errors))
	rate := 0.0
	if w.requests > 0 {
		rate = float64(w.errors) / float64(w.requests)
	}
	add("error_rate", rate)
	if len(w.buckets) == len(f.bounds)+1 {
		if p50 := feed.Quantile(0.5, f.bounds, w.buckets); !math.IsNaN(p50) {
			add("latency_p50", p50)
			add("latency_p99", feed.Quantile(0.99, f.bounds, w.buckets))
		}
	}
	return points
}

// deltas turns two cumulative bucket readings into per-bucket counts of
// the step (a missing previous reading counts from zero).
func deltas(prev, cur []uint64) []uint64 {
	out := make([]uint64, len(cur))
	var lastCur, lastPrev uint64
	for i, c := range cur {
		var p uint64
		if i < len(prev) {
			p = prev[i]
		}
		d := (c - min(lastCur, c)) // this bucket's count now
		dp := (p - min(lastPrev, p))
		out[i] = d - min(dp, d)
		lastCur, lastPrev = c, p
	}
	return out
}

// histograms reads the cumulative bucket counts of every route's latency
// histogram from the metric set's exposition, by route name.
func (f *selfFeed) histograms() map[string][]uint64 {
	f.buf.Reset()
	f.g.opts.Metrics.WritePrometheus(&f.buf)
	out := map[string][]uint64{}
	data := f.buf.Bytes()
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		rest, ok := bytes.CutPrefix(line, []byte(durationBucket))
		if !ok {
			continue
		}
		labels, value, ok := bytes.Cut(rest, []byte("} "))
		if !ok {
			continue
		}
		route, ok := labelValue(labels, "route")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 10, 64)
		if err != nil {
			continue
		}
		out[route] = append(out[route], n)
	}
	return out
}

// labelValue returns the value of label name in a Prometheus label list
// (`a="x",b="y"`); route names carry no quotes or backslashes.
func labelValue(labels []byte, name string) (string, bool) {
	for len(labels) > 0 {
		k, rest, ok := bytes.Cut(labels, []byte(`="`))
		if !ok {
			return "", false
		}
		v, after, ok := bytes.Cut(rest, []byte(`"`))
		if !ok {
			return "", false
		}
		if string(k) == name {
			return string(v), true
		}
		labels = bytes.TrimPrefix(after, []byte(","))
	}
	return "", false
}
