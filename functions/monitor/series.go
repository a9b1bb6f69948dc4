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
	var cursors []string // where each sub-listing that may go on stopped
	remote := map[int]bool{}
	for _, shard := range shards {
		local, err := f.listLocal(shard, prefix, after, limit, &filter, &all, &cursors)
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
		got, next, err := f.listOwners(r, remote)
		if err != nil {
			return err
		}
		all, cursors = append(all, got...), append(cursors, next...)
	}
	out := mergeSeriesPages(all, cursors, limit)
	if out.Series == nil {
		out.Series = []SeriesInfo{}
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// mergeSeriesPages merges the sub-listings of a page. Each returned every
// match after the page's cursor up to where it stopped (its cursor; none
// when it reached its end), so the merged listing is complete up to the
// smallest cursor: what lies beyond is dropped (the next page brings it,
// with whatever the stopped sub-listings hold before it), the rest sorted
// and cut at limit. Next is the last series returned when the cut took
// some, else the smallest cursor — also when no series matched at all
// (every scanned key filtered out), so the caller goes on from there.
func mergeSeriesPages(all []SeriesInfo, cursors []string, limit int) SeriesReply {
	cut := ""
	for _, c := range cursors {
		if cut == "" || c < cut {
			cut = c
		}
	}
	key := func(s *SeriesInfo) string { return metric.PK(s.Endpoint, s.Metric, s.Tags) }
	if cut != "" {
		all = slices.DeleteFunc(all, func(s SeriesInfo) bool { return key(&s) > cut })
	}
	slices.SortFunc(all, func(x, y SeriesInfo) int { return strings.Compare(key(&x), key(&y)) })
	out := SeriesReply{Series: all, Next: cut}
	if len(all) > limit {
		out.Series = all[:limit]
		out.Next = key(&out.Series[limit-1])
	}
	return out
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
func (f *Function) listLocal(shard int, prefix, after string, limit int, filter *seriesFilter, all *[]SeriesInfo, cursors *[]string) (bool, error) {
	if f.opts.Series == nil {
		return false, nil
	}
	return f.opts.Series.withStore(shard, func(st *seriesstore.Store) error {
		got, next, err := listShardPage(st, prefix, after, limit, maxSeriesScan, filter)
		if err != nil {
			return httperr.Unavailable(err, "cannot list series shard %d", shard)
		}
		node := f.nodeID()
		for i := range got {
			got[i].Node = node
		}
		*all = append(*all, got...)
		if next != "" {
			*cursors = append(*cursors, next)
		}
		return nil
	})
}

// listOwners asks the owners of the remote shards for the same page (the
// same filters, after and limit: each answers its first limit series
// after the cursor, so the merged first limit are the listing's).
func (f *Function) listOwners(r *fnapi.Request, remote map[int]bool) ([]SeriesInfo, []string, error) {
	groups, err := f.groupByOwner(r.Context(), sortedShards(remote))
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	var all []SeriesInfo
	var cursors []string
	for _, rep := range replies {
		all = append(all, rep.Series...)
		if rep.Next != "" {
			cursors = append(cursors, rep.Next)
		}
	}
	return all, cursors, nil
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
	out, next, err := listShardPage(st, prefix, after, limit, maxSeriesScan, filter)
	return out, next != "", err
}

// listShardPage returns up to limit matching series of one shard after the
// key after, and where it stopped when more may follow: the last series
// returned when it has limit, the last key it looked at when it looked at
// maxScan of them, "" at the shard's end.
func listShardPage(st *seriesstore.Store, prefix, after string, limit, maxScan int, filter *seriesFilter) ([]SeriesInfo, string, error) {
	var out []SeriesInfo
	scanned := 0
	for {
		page, more, err := st.List(seriesstore.ListOptions{Prefix: prefix, After: after, Limit: min(1000, maxScan)})
		if err != nil {
			return nil, "", err
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
				return out, in.Key, nil
			}
		}
		if !more {
			return out, "", nil
		}
		if scanned >= maxScan {
			return out, after, nil
		}
	}
}
