package monitor

import (
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Series listing limits.
const (
	defaultSeriesLimit = 100
	maxSeriesLimit     = 1000
	// maxSeriesScan bounds the keys one listing looks at per shard; a
	// listing that stops there says so with a next cursor.
	maxSeriesScan = 100_000
)

// SeriesInfo is one entry of the series index.
type SeriesInfo struct {
	Endpoint    string `json:"endpoint"`
	Metric      string `json:"metric"`
	Tags        string `json:"tags"`
	CounterType string `json:"counterType"`
	Step        int64  `json:"step"`
}

// SeriesReply is a page of the series index, sorted by series key
// (endpoint/metric/tags). Next, when set, is the after= of the next page.
type SeriesReply struct {
	Series []SeriesInfo `json:"series"`
	Next   string       `json:"next,omitempty"`
}

// seriesFilter selects series of the index.
type seriesFilter struct {
	endpoint, metric string
	tags             []string               // "k=v" pairs that must all be in the series' tags
	may              func(tags string) bool // the caller's read access; nil: all
}

func (sf *seriesFilter) match(s *SeriesInfo) bool {
	if sf.endpoint != "" && s.Endpoint != sf.endpoint || sf.metric != "" && s.Metric != sf.metric || sf.may != nil && !sf.may(s.Tags) {
		return false
	}
	if len(sf.tags) == 0 {
		return true
	}
	have := strings.Split(s.Tags, ",")
	for _, t := range sf.tags {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// splitPK splits a series key into endpoint, metric and tags (a metric or
// endpoint holding "/" splits at its first "/": Falcon's PK is ambiguous there).
func splitPK(key string) (endpoint, metricName, tags string) {
	endpoint, rest, _ := strings.Cut(key, "/")
	metricName, tags, _ = strings.Cut(rest, "/")
	return endpoint, metricName, tags
}

// series answers GET /api/v1/metrics/series?endpoint=&metric=&tags=&after=&limit=.
func (f *Function) series(r *fnapi.Request) error {
	a := r.Ctx.QueryArgs()
	filter := seriesFilter{endpoint: string(a.Peek("endpoint")), metric: string(a.Peek("metric")), may: readable(r.Principal)}
	if t := metric.CanonicalTags(string(a.Peek("tags"))); t != "" {
		filter.tags = strings.Split(t, ",")
	}
	limit := defaultSeriesLimit
	if b := a.Peek("limit"); len(b) > 0 {
		n, err := strconv.Atoi(string(b))
		if err != nil || n < 1 || n > maxSeriesLimit {
			return httperr.BadRequest("limit must be 1..%d, got %q", maxSeriesLimit, b)
		}
		limit = n
	}
	after := string(a.Peek("after"))
	if f.opts.Series == nil {
		return httperr.Unavailable(nil, "no series store on this node")
	}
	prefix := ""
	if filter.endpoint != "" {
		prefix = filter.endpoint + "/"
		if filter.metric != "" {
			prefix += filter.metric
		}
	}
	var all []SeriesInfo
	more := false
	for _, shard := range f.opts.Series.Shards() {
		st, _ := f.opts.Series.store(shard)
		got, m, err := listShard(st, prefix, after, limit, &filter)
		if err != nil {
			return httperr.Unavailable(err, "cannot list series shard %d", shard)
		}
		all = append(all, got...)
		more = more || m
	}
	slices.SortFunc(all, func(x, y SeriesInfo) int {
		return strings.Compare(metric.PK(x.Endpoint, x.Metric, x.Tags), metric.PK(y.Endpoint, y.Metric, y.Tags))
	})
	out := SeriesReply{Series: all}
	if len(all) > limit {
		out.Series, more = all[:limit], true
	}
	if more && len(out.Series) > 0 {
		last := out.Series[len(out.Series)-1]
		out.Next = metric.PK(last.Endpoint, last.Metric, last.Tags)
	}
	if out.Series == nil {
		out.Series = []SeriesInfo{}
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// listShard returns up to limit matching series of one shard after the
// key after, and whether more may follow.
func listShard(st *seriesstore.Store, prefix, after string, limit int, filter *seriesFilter) ([]SeriesInfo, bool, error) {
	var out []SeriesInfo
	scanned := 0
	for {
		page, more, err := st.List(seriesstore.ListOptions{Prefix: prefix, After: after, Limit: 1000})
		if err != nil {
			return nil, false, err
		}
		for _, in := range page {
			after = in.Key
			scanned++
			e, m, t := splitPK(in.Key)
			s := SeriesInfo{Endpoint: e, Metric: m, Tags: t, CounterType: in.CounterType.String(), Step: in.Step}
			if !filter.match(&s) {
				continue
			}
			out = append(out, s)
			if len(out) == limit {
				return out, true, nil
			}
		}
		if !more {
			return out, false, nil
		}
		if scanned >= maxSeriesScan {
			return out, true, nil
		}
	}
}
