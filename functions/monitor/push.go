package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// PushReply is the answer to a push, as Falcon's transfer answers.
type PushReply struct {
	Message string `json:"message"`
	// Total is the number of items in the push, Invalid how many of them
	// were refused by the validation rules.
	Total   int `json:"total"`
	Invalid int `json:"invalid"`
	// Latency is the handling time in milliseconds.
	Latency int64 `json:"latency"`
}

// Batch limits: a message holds at most maxBatchPoints points or about
// maxMessageBytes (nsqd's default message limit is 1 MiB), one MPUB at
// most about maxMPUBBytes (nsqd's default body limit is 5 MiB).
const (
	maxBatchPoints  = 1000
	maxMessageBytes = 256 << 10
	maxMPUBBytes    = 4 << 20
)

// pushBuffers are the reusable buffers of one push.
type pushBuffers struct {
	items  []metric.Item
	shards [][]metric.Point
	pk     []byte
	free   [][]byte // message buffers to reuse
	used   [][]byte // message buffers of the push in progress
	chunks []pubChunk
	ends   [][2]int
	done   chan error // the push's chunks' answers
}

// take returns an empty message buffer.
func (b *pushBuffers) take() []byte {
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free = b.free[:n-1]
		return buf[:0]
	}
	return make([]byte, 0, 64<<10)
}

// give keeps a message buffer until the push is done.
func (b *pushBuffers) give(buf []byte) { b.used = append(b.used, buf) }

func (f *Function) buffers() *pushBuffers {
	if b, ok := f.bufs.Get().(*pushBuffers); ok {
		return b
	}
	return &pushBuffers{shards: make([][]metric.Point, f.opts.Shards)}
}

func (f *Function) release(b *pushBuffers) {
	if cap(b.items) > 100_000 {
		return // keep the pool's memory bounded after a huge push
	}
	for _, buf := range b.used {
		if cap(buf) <= 1<<20 && len(b.free) < 64 {
			b.free = append(b.free, buf)
		}
	}
	clear(b.used)
	b.used = b.used[:0]
	clear(b.items)
	b.items = b.items[:0]
	for i := range b.shards {
		clear(b.shards[i])
		b.shards[i] = b.shards[i][:0]
	}
	f.bufs.Put(b)
}

func (f *Function) push(r *fnapi.Request) error {
	start := time.Now()
	b := f.buffers()
	defer f.release(b)
	if st, refuse := f.opts.Backlog.refuse(); refuse {
		return f.refuseBacklog(st)
	}
	total, invalid, valid, err := f.accept(b, r.Ctx.PostBody())
	if err != nil {
		return httperr.BadRequest("%v; nothing was stored", err)
	}
	if valid > 0 {
		if q := f.queued.Add(int64(valid)); q > f.opts.MaxQueued {
			f.queued.Add(-int64(valid))
			f.stats.rejectedBusy.Inc()
			return f.unavailable(nil, "too many points queued (%d at most); nothing of this push was stored, retry after %ss", f.opts.MaxQueued, f.retry)
		}
		err := f.publish(r.Context(), b)
		f.queued.Add(-int64(valid))
		if err != nil {
			// A publish that timed out may still be writing its
			// messages: their buffers must not be reused.
			b.used = nil
			f.stats.rejectedBus.Inc()
			return f.unavailable(err, "cannot queue the points: the message bus did not take them; retry after %ss (points already queued are not stored twice)", f.retry)
		}
		f.stats.published.Add(valid)
	}
	return r.JSON(fasthttp.StatusOK, PushReply{Message: "ok", Total: total, Invalid: invalid, Latency: time.Since(start).Milliseconds()})
}

// accept decodes and validates a push body into b's per-shard points.
func (f *Function) accept(b *pushBuffers, body []byte) (total, invalid, valid int, err error) {
	items, err := metric.Decode(body, b.items[:0])
	b.items = items
	if err != nil {
		return 0, 0, 0, err
	}
	f.stats.received.Add(len(items))
	now := f.opts.Now().Unix()
	for i := range items {
		p, err := f.rules.Validate(&items[i], now)
		if err != nil {
			invalid++
			continue
		}
		b.pk = metric.AppendPK(b.pk[:0], p.Endpoint, p.Metric, p.Tags)
		s := f.ring.IndexBytes(b.pk)
		b.shards[s] = append(b.shards[s], p)
		valid++
	}
	f.stats.invalid.Add(invalid)
	return len(items), invalid, valid, nil
}

func (f *Function) unavailable(cause error, format string, args ...any) error {
	he := httperr.Unavailable(cause, format, args...)
	he.Headers = map[string]string{"Retry-After": f.retry}
	return he
}

// publish sends every shard's points to its series and judge topics: it
// encodes them into chunks, hands each to its shard's publisher (which
// joins the chunks of concurrent pushes into shared messages) and waits
// for every chunk's round.
func (f *Function) publish(ctx context.Context, b *pushBuffers) error {
	ctx, cancel := context.WithTimeout(ctx, f.opts.PublishTimeout)
	defer cancel()
	b.chunks = b.chunks[:0]
	for s, points := range b.shards {
		if len(points) == 0 {
			continue
		}
		buf, ends := encodeChunks(f.opts.BatchFormat, points, b.take(), b.ends[:0])
		b.give(buf)
		b.ends = ends
		start := 0
		for _, e := range ends {
			b.chunks = append(b.chunks, pubChunk{data: buf[start:e[0]], points: e[1], shard: s})
			start = e[0]
		}
	}
	if cap(b.done) < len(b.chunks) {
		b.done = make(chan error, len(b.chunks))
	}
	deadline, _ := ctx.Deadline()
	for i := range b.chunks {
		b.chunks[i].done, b.chunks[i].deadline = b.done, deadline
	}
	// The chunks are in shard order: each shard's go to its publisher at once.
	for i := 0; i < len(b.chunks); {
		j := i + 1
		for j < len(b.chunks) && b.chunks[j].shard == b.chunks[i].shard {
			j++
		}
		f.pubs[b.chunks[i].shard].submit(b.chunks[i:j])
		i = j
	}
	var errs []error
	for range b.chunks {
		select {
		case err := <-b.done:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			// Chunks still waiting are withdrawn (never published);
			// rounds that took the others may still be publishing them
			// and will answer on b.done: nothing of them is reused.
			for i := range b.chunks {
				f.pubs[b.chunks[i].shard].withdraw(&b.chunks[i])
			}
			b.used, b.chunks, b.done = nil, nil, nil
			return fmt.Errorf("cannot publish: %w", ctx.Err())
		}
	}
	clear(b.chunks)
	b.chunks = b.chunks[:0]
	return errors.Join(errs...)
}
