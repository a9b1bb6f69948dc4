package bodylimit

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestReadReusingTakesBackTheBuffer: bodies read with ReadReusing and
// given back come out of the same buffers: after the first, a 300 KiB
// body costs no new buffer (one small allocation for the pool's pointer and
// the Reader's escape at most), and every body is read whole.
func TestReadReusingTakesBackTheBuffer(t *testing.T) {
	var bufs Buffers
	body := bytes.Repeat([]byte("y"), 300<<10)
	read := func() []byte {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetBodyStream(bytes.NewReader(body), len(body))
		ctx.Request.Header.SetContentLength(len(body))
		buf, he := ReadReusing(&ctx, 4<<20, &bufs)
		if he != nil {
			t.Fatal(he)
		}
		if !bytes.Equal(ctx.PostBody(), body) {
			t.Fatalf("read %d bytes, want the %d sent", len(ctx.PostBody()), len(body))
		}
		ctx.Request.ResetBody()
		bufs.Put(buf)
		return buf
	}
	// sync.Pool may drop a buffer (a GC between Put and Get, a goroutine
	// moved to another P, and the race detector drops a quarter of all
	// Puts on purpose): some read of a few must reuse its predecessor's.
	prev, reused := read(), false
	for range 20 {
		next := read()
		if &next[:1][0] == &prev[:1][0] {
			reused = true
			break
		}
		prev = next
	}
	if !reused {
		t.Fatal("none of 20 bodies reused the buffer of the body before it")
	}
	if allocs := testing.AllocsPerRun(20, func() { read() }); allocs > 6 {
		t.Fatalf("%.0f allocations per reused read", allocs)
	}
}

// TestBufferClasses: a buffer from get holds what was asked; Put keeps a
// buffer in the class all of whose buffers it can serve, and drops those
// beyond the biggest class.
func TestBufferClasses(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 4096, 4097, 100_000, 1 << 20} {
		if c := class(n); c < 0 || 1<<(c+minClassShift) < n {
			t.Fatalf("class(%d) = %d", n, c)
		}
	}
	if c := class(1<<20 + 1); c != -1 {
		t.Fatalf("class(1 MiB + 1) = %d, want none", c)
	}
	var bufs Buffers
	bufs.Put(make([]byte, 0, 6000)) // serves class 0 (4 KiB), not class 1
	if got := bufs.get(5000); cap(got) < 5000 {
		t.Fatalf("get(5000) gave cap %d", cap(got))
	}
	bufs.Put(make([]byte, 0, 4<<20)) // dropped
	if got := bufs.get(1 << 20); cap(got) != 1<<20 {
		t.Fatalf("get(1 MiB) gave cap %d", cap(got))
	}
	var none *Buffers
	if got := none.get(10); cap(got) != 10 {
		t.Fatalf("nil Buffers: cap %d", cap(got))
	}
	none.Put(make([]byte, 10))
}
