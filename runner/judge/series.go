package judge

import (
	"slices"
	"sync"

	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// seriesIndex remembers, for the series of one shard, what the judge
// derives from a series' identity and would otherwise derive again for
// every batch: its PK, its parsed tags, and the strategies that match it
// with the state keys (event IDs) it has under them. A batch then costs
// one map lookup per point (without a string allocated for the key) to
// group its points by series, and nothing per series when no strategy
// changed. It also keeps the batch's scratch slices from one batch to the
// next. mu is held for a whole batch (a shard's batches are judged one at
// a time anyway); lock order: mu, then record locks, then the cache's.
type seriesIndex struct {
	mu   sync.Mutex
	byPK seriesTable // seriestable.go
	// pts is the decoded points of a batch; their strings may be views
	// of the batch's message (metric.DecodeBatchViews), read only while
	// the batch is grouped: a new series' info copies what it keeps.
	pts   []metric.Point
	batch uint64 // number of the batch being grouped
	// The PKs of the batch's points one after the other (the i-th ends at
	// keyEnds[i]) and their hashes (see prefetch); sink keeps the reads
	// of prefetch.
	keys    []byte
	keyEnds []int
	hs      []uint64
	sink    uint64
	// Scratch of one batch: each point's series, the series in the order
	// first seen, their points grouped, and the (strategy, series) items.
	of     []*seriesInfo
	groups []*seriesInfo
	flat   []mjudge.Point
	items  []judgeItem
}

// seriesInfo is what the index keeps of one series. Nothing of it changes
// once set, but the per-batch fields and the matches (recomputed when the
// strategies changed). The fields a batch reads of every point's series
// come first, the PK's header with them, so that they share the first of
// the info's cache lines (the info is 192 bytes: three lines).
type seriesInfo struct {
	// pk is the series' PK; endpoint, metric and the tags' strings are
	// views of it (one allocation for the series' strings).
	pk string
	// batch is the batch the next fields are about: where the series'
	// points start in the batch's grouped points, and how many there are.
	batch        uint64
	start, count int
	// tags is the series' parsed tags (an empty map for none), shared by
	// its points, states and events, which never change it.
	tags             map[string]string
	endpoint, metric string
	// matches is one[:1] when one strategy matches (no allocation of its
	// own).
	matches []seriesMatch
	// tagsEnc is tags encoded as a state's (mjudge.AppendTags), for the
	// flush of the series' cached states.
	tagsEnc []byte
	one     [1]seriesMatch
	// gen is the strategies' generation matches was computed for (0:
	// never).
	gen uint64
	sum string // event.PKSum(pk), once a strategy matched
}

// seriesMatch is a strategy that matches a series and the key of the
// series' state under it.
type seriesMatch struct {
	c    *judged
	key  string
	lock int // recordLock(key)
	// rec is the shard cache's record of key when fillCache last saw it,
	// so that a batch finds it without a lookup in the cache's map. It is
	// used only while it is still the cached one (rec.cache is the cache
	// asked): a record dropped or evicted is marked so (shardCache.remove).
	// Read and written with the index's mu and the cache's mu held.
	rec *cachedRecord
}

func newSeriesIndex() *seriesIndex {
	return &seriesIndex{byPK: newSeriesTable()}
}

// reset forgets every series and string (a shard given up).
func (idx *seriesIndex) reset() {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	idx.byPK = newSeriesTable()
	idx.pts, idx.of, idx.groups, idx.flat, idx.items = nil, nil, nil, nil, nil
	idx.keys, idx.keyEnds, idx.hs = nil, nil, nil
}

// decode decodes a batch into the index's scratch, valid until the next
// call and while body is unchanged (the strings of a binary batch are
// views of it: no string is made per batch).
func (idx *seriesIndex) decode(body []byte) ([]metric.Point, error) {
	pts, err := metric.DecodeBatchViews(idx.pts, body)
	if err != nil {
		return nil, err
	}
	if cap(pts) <= maxKeptPoints {
		idx.pts = pts
	}
	return pts, nil
}

// maxKeptPoints bounds the decoded points an index keeps between batches.
const maxKeptPoints = 1 << 16

// maxKeptKeyBytes bounds the PKs of a batch an index keeps between
// batches.
const maxKeptKeyBytes = 4 << 20

// group converts pts to the judge's form grouped by series (each group
// oldest first, in the order the series first appear in pts) and returns
// the series. The grouped points are idx.flat[s.start : s.start+s.count]
// of each series s; they, and the slice returned, are valid until the
// next call. The points' tags are canonical (the monitor publishes them
// so), so a series' PK is event.PK of its endpoint, metric and tags. limit
// bounds the series remembered: beyond it the index starts afresh (before
// the batch, so that a batch never sees a series twice).
func (idx *seriesIndex) group(pts []metric.Point, limit int) []*seriesInfo {
	if idx.byPK.len() > limit {
		idx.byPK.reset()
	}
	idx.batch++
	cur := idx.batch
	idx.groups = idx.groups[:0]
	idx.of = slices.Grow(idx.of[:0], len(pts))[:len(pts)]
	idx.prefetch(pts)
	for i := range pts {
		p := &pts[i]
		pk, h := idx.pkOf(i), idx.hs[i]
		s := idx.byPK.get(h, pk)
		if s == nil {
			s = newSeriesInfo(p, string(pk))
			idx.byPK.add(h, s)
		}
		if s.batch != cur {
			s.batch, s.count = cur, 0
			idx.groups = append(idx.groups, s)
		}
		s.count++
		idx.of[i] = s
	}
	off := 0
	for _, s := range idx.groups {
		s.start, off = off, off+s.count
		s.count = 0 // counts again as the points are placed
	}
	idx.flat = slices.Grow(idx.flat[:0], len(pts))[:len(pts)]
	for i := range pts {
		p, s := &pts[i], idx.of[i]
		idx.flat[s.start+s.count] = mjudge.Point{
			Endpoint: s.endpoint, Metric: s.metric, Tags: s.tags,
			Timestamp: p.Time, Step: p.Step, Value: p.Value, Type: counterType(p.CounterType),
		}
		s.count++
	}
	for _, s := range idx.groups {
		g := idx.points(s)
		if !slices.IsSortedFunc(g, byTime) {
			slices.SortStableFunc(g, byTime)
		}
	}
	clear(idx.of) // the infos may be dropped before the next batch
	if cap(idx.hs) > maxKeptPoints || cap(idx.keys) > maxKeptKeyBytes {
		idx.keys, idx.keyEnds, idx.hs = nil, nil, nil
	}
	return idx.groups
}

// prefetch hashes the PKs of pts (idx.hs, the PKs in idx.keys) and reads,
// for each point, what finding and judging its series reads next: its
// home slot, then the series there, its PK's first byte, and the cached
// record of its first match with the start of the record's window. A
// point's lookup is a chain of cache misses (slot, series, PK, record),
// but the points' chains are independent: read point after point in
// short loops, the misses of many points are under way at once instead of
// one after the other. Nothing is decided on what it reads (the series in
// a home slot may be another's): it only warms the CPU's cache. What it
// reads of a record is written only under idx.mu (see
// cachedRecord.key and win).
func (idx *seriesIndex) prefetch(pts []metric.Point) {
	n := len(pts)
	idx.hs = slices.Grow(idx.hs[:0], n)[:n]
	idx.keyEnds = slices.Grow(idx.keyEnds[:0], n)[:n]
	keys := idx.keys[:0]
	for i := range pts {
		p := &pts[i]
		start := len(keys)
		keys = metric.AppendPK(keys, p.Endpoint, p.Metric, p.Tags)
		idx.hs[i], idx.keyEnds[i] = idx.byPK.hash(keys[start:]), len(keys)
	}
	idx.keys = keys
	// Short loops of independent reads: their misses overlap. idx.of
	// holds the series in each point's home slot until group sets it.
	for i, h := range idx.hs {
		idx.of[i] = idx.byPK.home(h)
	}
	var sink uint64
	for _, s := range idx.of {
		if s != nil && len(s.pk) > 0 {
			sink += uint64(s.pk[0])
		}
	}
	for _, s := range idx.of {
		if s == nil {
			continue
		}
		if r := s.one[0].rec; r != nil {
			sink += uint64(len(r.key)) + uint64(r.win[0].T)
		}
	}
	idx.sink = sink
}

// pkOf is the PK of the i-th point of the batch prefetch read.
func (idx *seriesIndex) pkOf(i int) []byte {
	start := 0
	if i > 0 {
		start = idx.keyEnds[i-1]
	}
	return idx.keys[start:idx.keyEnds[i]]
}

// points returns the grouped points of s in the batch just grouped; the
// slice cannot be appended to in place.
func (idx *seriesIndex) points(s *seriesInfo) []mjudge.Point {
	return idx.flat[s.start : s.start+s.count : s.start+s.count]
}

func byTime(a, b mjudge.Point) int { return int(min(max(a.Timestamp-b.Timestamp, -1), 1)) }

// newSeriesInfo makes the info of p's series (PK pk, a string of its own:
// p's strings may be views of a message), its strings views of pk.
func newSeriesInfo(p *metric.Point, pk string) *seriesInfo {
	ep := len(p.Endpoint)
	s := &seriesInfo{pk: pk, endpoint: pk[:ep], metric: pk[ep+1 : ep+1+len(p.Metric)]}
	if p.Tags != "" {
		s.tags = metric.ParseTags(pk[len(pk)-len(p.Tags):])
	}
	if s.tags == nil {
		s.tags = map[string]string{}
	}
	s.tagsEnc = mjudge.AppendTags(nil, s.tags)
	return s
}

// match returns the strategies of strats (generation gen) that match s,
// with the keys of s's states under them, computed once per generation.
func (s *seriesInfo) match(strats []*judged, gen uint64) []seriesMatch {
	if s.gen == gen {
		return s.matches
	}
	out := s.one[:0] // this batch's items point to matches: replaced only between batches
	for _, c := range strats {
		if !c.Match(s.endpoint, s.metric, s.tags) {
			continue
		}
		if s.sum == "" {
			s.sum = event.PKSum(s.pk)
		}
		key := StatePrefix + event.IDOfSum(c.Prefix, c.Source.ID, s.sum)
		out = append(out, seriesMatch{c: c, key: key, lock: recordLock(key)})
	}
	s.gen, s.matches = gen, out
	return out
}
