package fnapi

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/bodylimit"
)

// uploadFn streams its body (StreamBody) and answers its size and sha256;
// jsonFn decodes a JSON body the Mux read (and capped) beforehand.
func uploadFunctions() testFunction {
	return testFunction{name: "upload", routes: []Route{
		{Method: "PUT", Pattern: "/upload", Access: Public(), StreamBody: true, Handler: func(r *Request) error {
			body, err := r.BodyStream()
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(h, body)
			if err != nil {
				r.Ctx.SetConnectionClose()
				return bodylimit.HTTPError(err, r.MaxBody)
			}
			return r.JSON(200, map[string]any{"bytes": n, "sha256": hex.EncodeToString(h.Sum(nil))})
		}},
		{Method: "PUT", Pattern: "/json", Access: Public(), Handler: func(r *Request) error {
			var v map[string]any
			if err := r.DecodeJSON(&v); err != nil {
				return err
			}
			return r.JSON(200, map[string]any{"keys": len(v)})
		}},
	}}
}

// sendChunked writes a chunked PUT of total bytes of 'z' and returns the
// status line and body of the answer.
func sendChunked(t *testing.T, addr, path string, total int) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		_, _ = io.WriteString(c, "PUT "+path+" HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := strings.Repeat("z", 64<<10)
		for sent := 0; sent < total; sent += len(chunk) {
			n := min(len(chunk), total-sent)
			if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", n, chunk[:n]); err != nil {
				return
			}
		}
		_, _ = io.WriteString(c, "0\r\n\r\n")
	}()
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return fmt.Sprint(resp.StatusCode()), string(resp.Body())
}

func TestStreamedUploadWithinAndOverTheLimit(t *testing.T) {
	e := newEnv(t, uploadFunctions()) // the gateway's default limit: 4 MiB
	addr := e.gw.Addr().String()
	total := 3 << 20
	sum := sha256.Sum256([]byte(strings.Repeat("z", total)))
	status, body := sendChunked(t, addr, "/upload", total)
	if status != "200" || !strings.Contains(body, hex.EncodeToString(sum[:])) || !strings.Contains(body, fmt.Sprintf(`"bytes":%d`, total)) {
		t.Fatalf("3 MiB streamed: %s %s", status, body)
	}
	status, body = sendChunked(t, addr, "/upload", 10<<20)
	if status != "413" || !strings.Contains(body, "exceeds 4194304 bytes") {
		t.Fatalf("10 MiB chunked into a 4 MiB limit: %s %s", status, body)
	}
	// A handler that does not stream gets the body read and capped by the Mux.
	if status, body = sendChunked(t, addr, "/json", 5<<20); status != "413" {
		t.Fatalf("5 MiB into a JSON route: %s %s", status, body)
	}
}

// TestReusedBodyBuffersKeepEachRequestsBody: a BodyNotKept route reads
// its bodies into reused buffers; concurrent requests of different sizes
// (over the 4 KiB the server buffers itself, so they are streamed) each
// see exactly their own body, and a route without the flag next to it is
// unaffected.
func TestReusedBodyBuffersKeepEachRequestsBody(t *testing.T) {
	echoSum := func(r *Request) error {
		sum := sha256.Sum256(r.Ctx.PostBody())
		return r.JSON(200, map[string]any{"bytes": len(r.Ctx.PostBody()), "sha256": hex.EncodeToString(sum[:])})
	}
	e := newEnv(t, testFunction{name: "sum", routes: []Route{
		{Method: "POST", Pattern: "/reused", Access: Public(), BodyNotKept: true, Handler: echoSum},
		{Method: "POST", Pattern: "/kept", Access: Public(), Handler: echoSum},
	}})
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range 25 {
				path := "/reused"
				if i%5 == 4 {
					path = "/kept"
				}
				body := strings.Repeat(string(rune('a'+w)), 5000+w*70_000+i*1013)
				sum := sha256.Sum256([]byte(body))
				r := e.do(t, "POST", path, "", body)
				want := fmt.Sprintf(`{"bytes":%d,"sha256":"%s"}`, len(body), hex.EncodeToString(sum[:]))
				if r.status != 200 || strings.TrimSpace(string(r.body)) != want {
					errs <- fmt.Errorf("worker %d request %d to %s: %d %s, want %s", w, i, path, r.status, r.body, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
