package monitor

import (
	"slices"
	"unsafe"

	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// writeReq is one message's points waiting for the shard's next write.
// Its buffers are reused for later messages once the write is done: a
// point's key is not a string of its own but a view of keys (Update keeps
// no reference to a key; it copies the key of a new series), so a batch
// costs no allocation per point.
type writeReq struct {
	points []seriesstore.Point
	keys   []byte // the points' keys, one after the other
	// decoded is the message's points as decoded (metric.DecodeBatchInto),
	// kept for the next message.
	decoded []metric.Point
	done    chan error
}

// Bounds of the buffers a request keeps for reuse (a larger batch's are dropped).
const (
	maxKeptReqPoints = 20_000
	maxKeptReqKeys   = 1 << 20
)

// newReq returns a request to fill, a reused one when there is one.
func (w *Writer) newReq() *writeReq {
	if r, ok := w.reqs.Get().(*writeReq); ok {
		return r
	}
	return &writeReq{done: make(chan error, 1)}
}

// releaseReq makes r, whose write is done (its error received), reusable.
func (w *Writer) releaseReq(r *writeReq) {
	if cap(r.points) > maxKeptReqPoints || cap(r.keys) > maxKeptReqKeys || cap(r.decoded) > maxKeptReqPoints {
		return
	}
	clear(r.points)
	clear(r.decoded)
	w.reqs.Put(r)
}

// fill makes r hold points, each keyed by its series' PK.
func (r *writeReq) fill(points []metric.Point) {
	n := 0
	for i := range points {
		p := &points[i]
		n += len(p.Endpoint) + 1 + len(p.Metric)
		if p.Tags != "" {
			n += 1 + len(p.Tags)
		}
	}
	// Sized once: the views below must not move with a growing buffer.
	keys := slices.Grow(r.keys[:0], n)
	r.points = slices.Grow(r.points[:0], len(points))[:len(points)]
	for i := range points {
		p := &points[i]
		start := len(keys)
		keys = metric.AppendPK(keys, p.Endpoint, p.Metric, p.Tags)
		r.points[i] = seriesstore.Point{
			Key:  unsafe.String(unsafe.SliceData(keys[start:]), len(keys)-start),
			Step: p.Step, CounterType: p.CounterType, Time: p.Time, Value: p.Value,
		}
	}
	r.keys = keys
}
