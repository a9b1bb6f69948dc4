package bodylimit

import (
	"math/bits"
	"sync"
)

// Buffer classes: powers of two from 1<<minClassShift to 1<<maxClassShift
// bytes (4 KiB to 1 MiB); bigger bodies are not kept.
const (
	minClassShift = 12
	maxClassShift = 20
)

// Buffers keeps request body buffers for reuse, by size class. The zero
// value is ready; a nil *Buffers allocates every buffer and keeps none.
type Buffers struct {
	classes [maxClassShift - minClassShift + 1]sync.Pool // *[]byte
}

// class is the index of the smallest class holding n bytes, or -1.
func class(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minClassShift
	if c > maxClassShift-minClassShift {
		return -1
	}
	return c
}

// get returns an empty buffer with room for n bytes.
func (b *Buffers) get(n int) []byte {
	c := class(n)
	if b == nil || c < 0 {
		return make([]byte, 0, n)
	}
	if p, ok := b.classes[c].Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<(c+minClassShift))
}

// Put gives back a buffer from ReadReusing; the caller keeps no reference
// to it. A buffer grown past the biggest class is dropped.
func (b *Buffers) Put(buf []byte) {
	if b == nil || buf == nil {
		return
	}
	// The class whose every buffer fits: the largest not above cap.
	c := bits.Len(uint(cap(buf))) - 1 - minClassShift
	if c < 0 || c > maxClassShift-minClassShift {
		return
	}
	buf = buf[:0]
	b.classes[c].Put(&buf)
}
