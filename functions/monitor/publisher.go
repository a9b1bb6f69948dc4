package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// maxMessagePoints bounds the points of one message made of the chunks of
// several pushes (each chunk holds at most maxBatchPoints).
const maxMessagePoints = 4 * maxBatchPoints

// pubChunk is the encoded points of one push for one shard: batch point
// records whose first point refers to none before it, so that chunks can
// be joined into one message (metric.BatchFormat.AppendChunk).
type pubChunk struct {
	data   []byte
	points int
	shard  int
	done   chan<- error // the push's; buffered for all its chunks
	// deadline is the push's: a round publishes until the latest
	// deadline of its chunks' pushes, not past it.
	deadline time.Time
}

// shardPublisher coalesces the chunks of concurrent pushes to one shard
// into shared messages: while one round of MPUBs is on its way to nsqd,
// the chunks of the pushes that arrive meanwhile wait, and the next round
// sends them together. Under load a message then holds the points of
// several pushes, so nsqd, the series writer and the judge handle a few
// big messages instead of one small message per push and shard; an idle
// shard sends a push's chunk at once. A round's goroutine runs only while
// chunks wait.
type shardPublisher struct {
	f      *Function
	series string
	judge  string

	mu      sync.Mutex
	pending []*pubChunk
	busy    bool

	// Owned by the round in progress.
	round  []*pubChunk
	buf    []byte
	bodies [][]byte
}

func newShardPublisher(f *Function, shard int) *shardPublisher {
	return &shardPublisher{f: f, series: wire.SeriesTopic(shard), judge: wire.JudgeTopic(shard)}
}

// submit queues a push's chunks for the shard (all at once: a round takes
// them together); the push gets each one's round error on its done.
func (p *shardPublisher) submit(cs []pubChunk) {
	p.mu.Lock()
	for i := range cs {
		p.pending = append(p.pending, &cs[i])
	}
	start := !p.busy
	p.busy = true
	p.mu.Unlock()
	if start {
		go p.drain()
	}
}

// withdraw takes c out of the chunks waiting for a round, for a push that
// gave up: nothing of it is published later. It reports false when a round
// already took c (that round may still publish it).
func (p *shardPublisher) withdraw(c *pubChunk) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.pending, c)
	if i < 0 {
		return false
	}
	p.pending = slices.Delete(p.pending, i, i+1)
	return true
}

// drain sends rounds until no chunk waits.
func (p *shardPublisher) drain() {
	for {
		p.mu.Lock()
		if len(p.pending) == 0 {
			p.busy = false
			p.mu.Unlock()
			return
		}
		n, size := 0, 0
		for n < len(p.pending) && (n == 0 || size+len(p.pending[n].data) <= maxMPUBBytes) {
			size += len(p.pending[n].data)
			n++
		}
		p.round = append(p.round[:0], p.pending[:n]...)
		rest := copy(p.pending, p.pending[n:])
		clear(p.pending[rest:])
		p.pending = p.pending[:rest]
		p.mu.Unlock()

		err := p.send(p.round)
		for _, c := range p.round {
			c.done <- err
		}
		clear(p.round)
	}
}

// send joins chunks into messages of at most maxMessagePoints points and
// about maxMessageBytes, and publishes them to the shard's series and judge
// topics at once.
func (p *shardPublisher) send(chunks []*pubChunk) error {
	format := p.f.opts.BatchFormat
	buf, bodies := p.buf[:0], p.bodies[:0]
	start, points, total := 0, 0, 0
	closeMessage := func() {
		buf = format.AppendEnd(buf, points)
		bodies = append(bodies, buf[start:])
		start, points = len(buf), 0
	}
	for _, c := range chunks {
		if points > 0 && (points+c.points > maxMessagePoints || len(buf)-start+len(c.data) > maxMessageBytes) {
			closeMessage()
		}
		if points == 0 {
			buf = format.AppendStart(buf)
		}
		buf = format.AppendChunk(buf, c.data, points == 0)
		points += c.points
		total += c.points
	}
	if points > 0 {
		closeMessage()
	}
	// The bodies alias buf: the slice headers are fixed only now.
	var deadline time.Time
	for _, c := range chunks {
		if c.deadline.After(deadline) {
			deadline = c.deadline
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var judgeErr error
	var wg sync.WaitGroup
	wg.Go(func() { judgeErr = p.publish(ctx, p.judge, 1, bodies, total) })
	seriesErr := p.publish(ctx, p.series, 0, bodies, total)
	wg.Wait()
	if err := errors.Join(seriesErr, judgeErr); err != nil {
		// A publish that timed out may still be reading the messages and
		// their list: neither is reused.
		p.buf, p.bodies = nil, nil
		return err
	}
	clear(bodies)
	p.buf, p.bodies = buf[:0], bodies[:0]
	return nil
}

func (p *shardPublisher) publish(ctx context.Context, topic string, channel int, bodies [][]byte, points int) error {
	if err := p.f.opts.Publisher.MultiPublish(ctx, topic, bodies); err != nil {
		return fmt.Errorf("cannot publish %d points to %s: %w", points, topic, err)
	}
	p.f.opts.Backlog.published(channel, points, len(bodies))
	return nil
}

// encodeChunks appends points to buf as chunks of at most maxBatchPoints
// points and about maxMessageBytes each, and returns buf and the chunks'
// ends in it with their point counts.
func encodeChunks(format metric.BatchFormat, points []metric.Point, buf []byte, ends [][2]int) ([]byte, [][2]int) {
	for used := 0; used < len(points); {
		start := len(buf)
		var prev *metric.Point
		n := 0
		for ; used < len(points) && n < maxBatchPoints && len(buf)-start < maxMessageBytes; n++ {
			buf = format.AppendPoint(buf, &points[used], prev)
			prev = &points[used]
			used++
		}
		ends = append(ends, [2]int{len(buf), n})
	}
	return buf, ends
}
