package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/httperr"
)

// chunkedRequest sends a chunked body of total bytes (ignoring write errors
// once the server stops reading) and returns the response.
func chunkedRequest(t *testing.T, addr string, total int) (rawHead, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		if _, err := io.WriteString(c, "POST /fn HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
			return
		}
		chunk := strings.Repeat("z", 16<<10)
		for sent := 0; sent < total; {
			n := min(len(chunk), total-sent)
			if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", n, chunk[:n]); err != nil {
				return
			}
			sent += n
		}
		_, _ = io.WriteString(c, "0\r\n\r\n")
	}()
	br := bufio.NewReader(c)
	h, err := readHead(br)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := readBody(br, h)
	return h, body
}

func TestReadBodyCapped(t *testing.T) {
	const limit = 1 << 20
	addr := serve(t, &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if he := bodylimit.Read(ctx, limit); he != nil {
				httperr.Write(ctx, nil, "rid", he)
				return
			}
			fmt.Fprintf(ctx, "%d %d %v", len(ctx.PostBody()), ctx.Request.Header.ContentLength(), ctx.RequestBodyStream() == nil)
		},
	})
	h, body := chunkedRequest(t, addr, 100<<10)
	if h.status() != 200 || string(body) != "102400 102400 true" {
		t.Fatalf("within limit: %d %q", h.status(), body)
	}
	h, body = chunkedRequest(t, addr, limit)
	if h.status() != 200 || string(body) != strconv.Itoa(limit)+" "+strconv.Itoa(limit)+" true" {
		t.Fatalf("at the limit: %d %q", h.status(), body)
	}
	h, body = chunkedRequest(t, addr, 10<<20)
	if h.status() != 413 || !strings.EqualFold(h.get("Connection"), "close") {
		t.Fatalf("over the limit: %d %v %q", h.status(), h.headers, body)
	}
	h, _ = roundTrip(t, addr, "POST /fn HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n"+strings.Repeat("x", 8<<10))
	if h.status() != 413 {
		t.Fatalf("Content-Length over the limit: %d", h.status())
	}
	h, body = roundTrip(t, addr, "POST /fn HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
	if h.status() != 200 || string(body) != "5 5 true" {
		t.Fatalf("small body: %d %q", h.status(), body)
	}
}

func TestStreamBodyCapped(t *testing.T) {
	const limit = 1 << 20
	addr := serve(t, &fasthttp.Server{
		StreamRequestBody: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			r, he := bodylimit.Stream(ctx, limit)
			if he != nil {
				httperr.Write(ctx, nil, "rid", he)
				return
			}
			n, err := io.Copy(io.Discard, r)
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				ctx.SetConnectionClose()
				httperr.Write(ctx, nil, "rid", httperr.New(413, "read %d", n))
				return
			}
			fmt.Fprintf(ctx, "%d %v", n, err)
		},
	})
	h, body := chunkedRequest(t, addr, 3<<20)
	if h.status() != 413 {
		t.Fatalf("over the limit: %d %q", h.status(), body)
	}
	if msg, _ := errorBody(t, body); msg != "read "+strconv.Itoa(limit) {
		t.Fatalf("reader passed %q, want exactly the limit", msg)
	}
	h, body = chunkedRequest(t, addr, 200<<10)
	if h.status() != 200 || string(body) != "204800 <nil>" {
		t.Fatalf("within limit: %d %q", h.status(), body)
	}
	h, _ = roundTrip(t, addr, "POST /fn HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n"+strings.Repeat("x", 8<<10))
	if h.status() != 413 {
		t.Fatalf("Content-Length over the limit: %d", h.status())
	}
}

func TestCappedReaderNonStreaming(t *testing.T) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetBodyString("0123456789")
	if he := bodylimit.Read(&ctx, 5); he == nil || he.Status != 413 {
		t.Fatalf("bodylimit.Read on a buffered 10-byte body, limit 5: %v", he)
	}
	r, he := bodylimit.Stream(&ctx, 20)
	if he != nil {
		t.Fatal(he)
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("%q %v", b, err)
	}
}
