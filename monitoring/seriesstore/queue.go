package seriesstore

// A series' waiting points are kept in chunks of a fixed size taken from
// the store's pool and given back once applied: a series that takes a few
// hundred points between two applies grows no slice (growslice was about
// 1.5 % of the writer's CPU: a new, doubling slice per series and pass),
// and the pool, once as large as the most points that waited at once
// (up to its max), allocates nothing more.

// chunkSamples is the points of one chunk: 256 bytes with its header.
const chunkSamples = 15

// chunk holds some of a series' waiting points, in order.
type chunk struct {
	next *chunk
	n    int
	pts  [chunkSamples]sample
}

// queue is a list of chunks: a series' waiting points, oldest first.
type queue struct {
	head, tail *chunk
	n          int // points
}

// chunkPool is the store's free chunks: at most max of them (the rest
// go to the garbage collector), n now.
type chunkPool struct {
	free   *chunk
	n, max int
}

// poolChunks is the most free chunks a pool keeps for a store of
// maxDeferred (Options.MaxDeferredPoints): as many as 4 × maxDeferred
// points take, twice the bound queued beside as many taken by a pass.
func poolChunks(maxDeferred int) int {
	if maxDeferred <= 0 {
		return 0
	}
	return (4*maxDeferred + chunkSamples - 1) / chunkSamples
}

// get returns an empty chunk.
func (p *chunkPool) get() *chunk {
	c := p.free
	if c == nil {
		return new(chunk)
	}
	p.free = c.next
	p.n--
	c.next, c.n = nil, 0
	return c
}

// put gives back every chunk of q, which is then empty: the pool keeps
// them up to its max.
func (p *chunkPool) put(q *queue) {
	if q.head == nil {
		*q = queue{}
		return
	}
	chunks := (q.n + chunkSamples - 1) / chunkSamples // every chunk but the last is full
	if p.n+chunks <= p.max {
		q.tail.next = p.free
		p.free = q.head
		p.n += chunks
		*q = queue{}
		return
	}
	for c := q.head; c != nil && p.n < p.max; {
		next := c.next
		c.next = p.free
		p.free = c
		p.n++
		c = next
	}
	*q = queue{} // the chunks beyond max go to the garbage collector
}

// push appends a point to q.
func (q *queue) push(p *chunkPool, s sample) {
	c := q.tail
	if c == nil || c.n == chunkSamples {
		c = p.get()
		if q.tail == nil {
			q.head = c
		} else {
			q.tail.next = c
		}
		q.tail = c
	}
	c.pts[c.n] = s
	c.n++
	q.n++
}
