package bodylimit

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestReadAllocatesADeclaredLengthOnce: a streamed body with a
// Content-Length is read into one buffer of that size. Growing from
// 64 KiB allocated three times the body of a 300 KiB metric push and
// copied it twice.
func TestReadAllocatesADeclaredLengthOnce(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 300<<10)
	const runs = 20
	var ctxs [runs + 1]fasthttp.RequestCtx // AllocsPerRun calls once more to warm up
	for i := range ctxs {
		ctxs[i].Request.SetBodyStream(bytes.NewReader(body), len(body))
		ctxs[i].Request.Header.SetContentLength(len(body))
	}
	next := 0
	allocs := testing.AllocsPerRun(runs, func() {
		if err := Read(&ctxs[next], 4<<20); err != nil {
			t.Fatal(err)
		}
		next++
	})
	for i := range ctxs {
		if !bytes.Equal(ctxs[i].PostBody(), body) {
			t.Fatalf("run %d: read %d bytes, want the %d sent", i, len(ctxs[i].PostBody()), len(body))
		}
	}
	if allocs > 2 { // the buffer, and the Reader's escape
		t.Fatalf("Read made %.0f allocations for a %d-byte body with its Content-Length", allocs, len(body))
	}
}

// TestReadRejectsOverLimit: a declared length over the limit is a 413
// before anything is read; a chunked body that grows past it too.
func TestReadRejectsOverLimit(t *testing.T) {
	t.Parallel()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetBodyStream(bytes.NewReader(make([]byte, 2000)), 2000)
	ctx.Request.Header.SetContentLength(2000)
	if err := Read(&ctx, 1000); err == nil || err.Status != fasthttp.StatusRequestEntityTooLarge {
		t.Fatalf("declared 2000 over 1000: %v", err)
	}
	var chunked fasthttp.RequestCtx
	chunked.Request.SetBodyStream(bytes.NewReader(make([]byte, 2000)), -1)
	if err := Read(&chunked, 1000); err == nil || err.Status != fasthttp.StatusRequestEntityTooLarge {
		t.Fatalf("chunked 2000 over 1000: %v", err)
	}
	var fits fasthttp.RequestCtx
	fits.Request.SetBodyStream(bytes.NewReader(make([]byte, 1000)), -1)
	if err := Read(&fits, 1000); err != nil || len(fits.PostBody()) != 1000 {
		t.Fatalf("chunked 1000 at the limit: %v, %d bytes", err, len(fits.PostBody()))
	}
}
