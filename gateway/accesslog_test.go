package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// logBuffer collects log lines written concurrently.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was logged.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// access returns the access log records for path.
func (l *logBuffer) access(path string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.b.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "access" && rec["path"] == path {
			out = append(out, rec)
		}
	}
	return out
}

// TestAccessLogDoesNotBufferStreamedBodies: with every request logged, an
// endless event stream from the upstream reaches the client as it is
// produced. Counting the response's bytes for the log must not read the
// streamed body (which would hold the answer until the upstream finishes,
// and keep all of it in memory).
func TestAccessLogDoesNotBufferStreamedBodies(t *testing.T) {
	stop := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
				_, _ = io.WriteString(c, "9\r\ndata: 1\n\n\r\n")
				<-stop // the stream goes on until the test ends
			}()
		}
	}()
	var once sync.Once
	end := func() { once.Do(func() { close(stop); _ = ln.Close() }) }
	t.Cleanup(end)

	var logs logBuffer
	g := gatewaytest.Start(t, gateway.Options{
		AccessLogEvery: 1,
		Logger:         slog.New(slog.NewJSONHandler(&logs, nil)),
		Edge: config.Edge{
			Services: []config.ServiceConfig{{Name: "events", Instances: []config.InstanceConfig{{Addr: ln.Addr().String()}}}},
			Routes:   []config.RouteConfig{{Name: "events", Path: "/", Service: "events"}},
		},
	}, nil)
	t.Cleanup(end) // before the gateway drains: the stream must end first

	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /events HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The route's response timeout is 30 s: a gateway that buffers the body
	// answers nothing before then.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "data: 1") {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("the first event did not reach the client: %v (got %q)", err, got.String())
		}
	}
	if !strings.HasPrefix(got.String(), "HTTP/1.1 200") {
		t.Fatalf("answer %q", got.String())
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		recs := logs.access("/events")
		if len(recs) != 1 {
			return errorf("%d access records for /events", len(recs))
		}
		if recs[0]["status"] != float64(200) || recs[0]["bytes"] != float64(-1) {
			return errorf("access record %v: want status 200 and bytes -1 (streamed, length unknown)", recs[0])
		}
		return nil
	})
}
