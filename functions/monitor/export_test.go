package monitor

// PrepareForBench runs a push's CPU path without publishing: decode,
// validate, shard by the ring and encode every shard's batches.
func (f *Function) PrepareForBench(body []byte) (valid int, err error) {
	b := f.buffers()
	defer f.release(b)
	_, _, valid, err = f.accept(b, body)
	for _, points := range b.shards {
		for len(points) > 0 {
			var n int
			var msgs []byte
			n, msgs, _ = batches(f.opts.BatchFormat, points, b.take(), nil)
			b.give(msgs)
			points = points[n:]
		}
	}
	return valid, err
}
