package seriesstore

// A series' waiting points are kept in chunks of a fixed size taken from
// the store's pool and given back once applied: a series that takes a few
// hundred points between two applies grows no slice (growslice was about
// 1.5 % of the writer's CPU: a new, doubling slice per series and pass),
// and the pool, once as large as the most points that waited at once,
// allocates nothing more.

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

// chunkPool is the store's free chunks.
type chunkPool struct {
	free *chunk
}

// get returns an empty chunk.
func (p *chunkPool) get() *chunk {
	c := p.free
	if c == nil {
		return new(chunk)
	}
	p.free = c.next
	c.next, c.n = nil, 0
	return c
}

// put gives back every chunk of q, which is then empty.
func (p *chunkPool) put(q *queue) {
	if q.head != nil {
		q.tail.next = p.free
		p.free = q.head
	}
	*q = queue{}
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
