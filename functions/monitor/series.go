package monitor

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
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
	// Node is the node whose store holds the series (its shard's owner).
	Node string `json:"node,omitempty"`
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
	prefix := ""
	if filter.endpoint != "" {
		prefix = filter.endpoint + "/"
		if filter.metric != "" {
			prefix += filter.metric
		}
	}
	shards, err := f.listedShards(r)
	if err != nil {
		return err
	}
	var all []SeriesInfo
	more := false
	remote := map[int]bool{}
	for _, shard := range shards {
		local, err := f.listLocal(shard, prefix, after, limit, &filter, &all, &more)
		if err != nil {
			return err
		}
		if !local {
			if localOnly(r) || !f.forwards() {
				return httperr.Unavailable(nil, "series shard %d is not stored on this node", shard)
			}
			remote[shard] = true
		}
	}
	if len(remote) > 0 {
		got, m, err := f.listOwners(r, remote)
		if err != nil {
			return err
		}
		all, more = append(all, got...), more || m
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

// listedShards are the shards a listing covers: those a forwarding node
// named in wire.LocalShardsHeader, every shard on a node that forwards,
// else the shards stored here.
func (f *Function) listedShards(r *fnapi.Request) ([]int, error) {
	if h := r.Ctx.Request.Header.Peek(wire.LocalShardsHeader); len(h) > 0 {
		var out []int
		for _, p := range strings.Split(string(h), ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 0 || n >= f.opts.Shards {
				return nil, httperr.BadRequest("%s must list shard numbers 0..%d, got %q", wire.LocalShardsHeader, f.opts.Shards-1, h)
			}
			out = append(out, n)
		}
		return out, nil
	}
	if f.forwards() {
		out := make([]int, f.opts.Shards)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	return f.opts.Series.Shards(), nil
}

// listLocal appends the matching series of shard to all when this node
// stores it, and reports whether it does.
func (f *Function) listLocal(shard int, prefix, after string, limit int, filter *seriesFilter, all *[]SeriesInfo, more *bool) (bool, error) {
	if f.opts.Series == nil {
		return false, nil
	}
	return f.opts.Series.withStore(shard, func(st *seriesstore.Store) error {
		got, m, err := listShard(st, prefix, after, limit, filter)
		if err != nil {
			return httperr.Unavailable(err, "cannot list series shard %d", shard)
		}
		node := f.nodeID()
		for i := range got {
			got[i].Node = node
		}
		*all, *more = append(*all, got...), *more || m
		return nil
	})
}

// listOwners asks the owners of the remote shards for the same page (the
// same filters, after and limit: each answers its first limit series
// after the cursor, so the merged first limit are the listing's).
func (f *Function) listOwners(r *fnapi.Request, remote map[int]bool) ([]SeriesInfo, bool, error) {
	groups, err := f.groupByOwner(r.Context(), sortedShards(remote))
	if err != nil {
		return nil, false, err
	}
	args := r.Ctx.QueryArgs().String()
	replies := make([]SeriesReply, len(groups))
	errs := make([]error, len(groups))
	call := newForwardCall(r)
	var wg sync.WaitGroup
	for gi, g := range groups {
		wg.Go(func() {
			errs[gi] = f.forward(call, g, "series", fasthttp.MethodGet, "/api/v1/metrics/series?"+args, nil, &replies[gi], shardList(g.shards))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, err
	}
	var all []SeriesInfo
	more := false
	for _, rep := range replies {
		all, more = append(all, rep.Series...), more || rep.Next != ""
	}
	return all, more, nil
}

// shardList is the wire.LocalShardsHeader value naming shards.
func shardList(shards []int) string {
	parts := make([]string, len(shards))
	for i, s := range shards {
		parts[i] = strconv.Itoa(s)
	}
	return strings.Join(parts, ",")
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
