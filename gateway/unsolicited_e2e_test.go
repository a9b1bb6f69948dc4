package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
)

// strayUpstream is an app instance that, after its first answer on each
// connection, sends an answer nobody asked for: with the answer (one write)
// or, when later is set, once the test says the gateway has pooled the
// connection.
type strayUpstream struct {
	addr     string
	conns    atomic.Int64
	later    bool
	answered chan struct{} // later: the client has its answer
	strayed  chan struct{} // the stray bytes are on their way
}

func startStrayUpstream(t *testing.T, later bool) *strayUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	u := &strayUpstream{addr: ln.Addr().String(), later: later, answered: make(chan struct{}, 16), strayed: make(chan struct{}, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go u.serve(c)
		}
	}()
	return u
}

func (u *strayUpstream) serve(c net.Conn) {
	n := u.conns.Add(1)
	tp := textproto.NewReader(bufio.NewReader(c))
	for i := 0; ; i++ {
		if _, err := tp.ReadLine(); err != nil { // request line
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		if cl, _ := strconv.Atoi(h.Get("Content-Length")); cl > 0 {
			if _, err := io.CopyN(io.Discard, tp.R, int64(cl)); err != nil {
				return
			}
		}
		const stray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
		answer := fmt.Sprintf("conn %d", n)
		out := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
		if i == 0 && !u.later {
			out += stray
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
		if i > 0 {
			continue
		}
		if u.later {
			select {
			case <-u.answered:
			case <-time.After(10 * time.Second):
				return
			}
			_, _ = io.WriteString(c, stray)
		}
		u.strayed <- struct{}{}
	}
}

// TestUpstreamBytesPastAnAnswerNeverAnswerAnotherRequest: an app instance
// that sends bytes nobody asked for on a keep-alive connection (a second
// answer, with its answer or later while the connection is idle) never gets
// them delivered as the answer to the next client's request, whatever its
// method: the gateway does not use that connection again.
func TestUpstreamBytesPastAnAnswerNeverAnswerAnotherRequest(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(fmt.Sprintf("later=%v", later), func(t *testing.T) {
			u := startStrayUpstream(t, later)
			n := startEdge(t, config.Edge{
				Services: []config.ServiceConfig{{Name: "shop", Instances: []config.InstanceConfig{{Addr: u.addr}}}},
				Routes:   []config.RouteConfig{{Name: "shop", Path: "/", Service: "shop"}},
			}, false)
			methods := []string{fasthttp.MethodGet, fasthttp.MethodGet, fasthttp.MethodPut, fasthttp.MethodPost}
			for i, m := range methods {
				body := ""
				if m != fasthttp.MethodGet {
					body = `{"qty":1}`
				}
				r := gatewaytest.Do(t, n.addr, m, "/cart", nil, body)
				if want := fmt.Sprintf("conn %d", i+1); r.Status != 200 || string(r.Body) != want {
					t.Fatalf("%s %d: %d %q, want 200 %q", m, i, r.Status, r.Body, want)
				}
				u.answered <- struct{}{}
				select {
				case <-u.strayed:
				case <-time.After(10 * time.Second):
					t.Fatalf("%s %d: the upstream sent no stray bytes", m, i)
				}
			}
		})
	}
}
