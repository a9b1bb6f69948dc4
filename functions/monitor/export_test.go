package monitor

// PrepareForBench runs a push's CPU path without publishing: decode,
// validate, shard by the ring and encode every shard's batches.
func (f *Function) PrepareForBench(body []byte) (valid int, err error) {
	b := f.buffers()
	defer f.release(b)
	_, _, valid, err = f.accept(b, body)
	for _, points := range b.shards {
		buf, ends := encodeChunks(f.opts.BatchFormat, points, b.take(), b.ends[:0])
		b.give(buf)
		b.ends = ends
	}
	return valid, err
}

// PendingChunks is how many pushed chunks wait for shard's next round.
func (f *Function) PendingChunks(shard int) int {
	p := f.pubs[shard]
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}
