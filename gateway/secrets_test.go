package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
)

// secretToken looks like a Wharf token; it must never be echoed or logged.
const secretToken = "wharf_0123456789abcdef_" + "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"

// rawExchange sends raw bytes on a new connection and returns the first
// answer (nil when the gateway closed without one).
func rawExchange(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, raw) }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func TestBadRequestsNeverEchoOrLogCredentials(t *testing.T) {
	logs := &logBuffer{}
	g := gatewaytest.Start(t, gateway.Options{
		MaxBodyBytes: 1 << 10,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, echoFunctions{})
	creds := "Authorization: Bearer " + secretToken + "\r\nCookie: session=" + secretToken + "\r\nX-Api-Key: " + secretToken + "\r\n"
	cases := []struct {
		name   string
		raw    string
		status int
	}{
		{"malformed header line", "GET /api/x HTTP/1.1\r\nHost: a\r\n" + creds + "no colon here\r\n\r\n", 400},
		{"malformed request line", "GET /api/x HTTP/9\r\n" + creds + "\r\n", 400},
		{"head too large", "GET /api/x HTTP/1.1\r\nHost: a\r\n" + creds + "X-Pad: " + strings.Repeat("p", 16<<10) + "\r\n\r\n", 431},
		{"body too large", "POST /api/x HTTP/1.1\r\nHost: a\r\n" + creds + "Content-Length: 4096\r\n\r\n" + strings.Repeat("b", 4096), 413},
		{"bad chunk", "POST /api/x HTTP/1.1\r\nHost: a\r\n" + creds + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + secretToken + "\r\n0\r\n\r\n", 400},
		{"bad content length", "POST /api/x HTTP/1.1\r\nHost: a\r\n" + creds + "Content-Length: -5\r\n\r\n", 400},
	}
	for _, tc := range cases {
		resp := rawExchange(t, g.Addr().String(), tc.raw)
		if resp == nil {
			t.Errorf("%s: no answer", tc.name)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, body)
		}
		if bytes.Contains(body, []byte("feedface")) || bytes.Contains(body, []byte("Bearer")) || bytes.Contains(body, []byte("session=")) {
			t.Errorf("%s: the answer echoes the request head: %s", tc.name, body)
		}
		if !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%s: the answer is not a JSON error: %s", tc.name, body)
		}
	}
	// Valid requests that fail (the function's 413) log nothing secret either.
	gatewaytest.Do(t, g.Addr().String(), "POST", "/api/x", map[string]string{"Authorization": "Bearer " + secretToken}, strings.Repeat("x", 2048))
	if l := logs.String(); strings.Contains(l, "feedface") || strings.Contains(l, "Bearer") {
		t.Fatalf("the log holds a credential:\n%s", l)
	}
}

// TestConnectionErrorLinesAreThrottled: a client opening many connections
// that each fail must not write one log line per connection.
func TestConnectionErrorLinesAreThrottled(t *testing.T) {
	logs := &logBuffer{}
	g := gatewaytest.Start(t, gateway.Options{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}, echoFunctions{})
	const conns = 300
	for i := 0; i < conns; i++ {
		// A head that is cut off: fasthttp reports an error serving the
		// connection when the client goes away mid-head.
		c, err := net.Dial("tcp", g.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /api/x HTTP/1.1\r\nAuthorization: Bearer %s\r\nX-Cut: ", secretToken)
		_ = c.Close()
	}
	// The last of them is answered once the gateway has served all.
	if r := gatewaytest.Do(t, g.Addr().String(), "GET", "/api/x", nil, ""); r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	l := logs.String()
	if strings.Contains(l, "feedface") {
		t.Fatalf("the log holds a credential:\n%s", l)
	}
	if n := strings.Count(l, "\n"); n > conns/5 {
		t.Fatalf("%d connection errors wrote %d log lines:\n%s", conns, n, l)
	}
}
