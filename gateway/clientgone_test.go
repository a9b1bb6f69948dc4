package gateway_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestClientThatLeavesFreesItsSlot: with one request in flight allowed per
// client (limit_conn 1), a client that gives up on a slow upstream and closes
// its connection frees its slot at once — the next request gets through
// instead of 503 until the response timeout — and the upstream sees the
// abandoned request's connection closed.
func TestClientThatLeavesFreesItsSlot(t *testing.T) {
	received := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
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
					if !strings.HasPrefix(line, "GET /slow") {
						// Skip to the end of the head and answer.
						for line != "\r\n" {
							if line, err = br.ReadString('\n'); err != nil {
								return
							}
						}
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast")
						continue
					}
					received <- struct{}{}
					// Never answer; wait for the gateway to give up.
					_, _ = io.Copy(io.Discard, br)
					cancelled <- struct{}{}
					return
				}
			}()
		}
	}()

	g := gatewaytest.Start(t, gateway.Options{Edge: config.Edge{
		Limits:   []config.LimitConfig{{Name: "one_at_a_time", Key: "ip", Conn: 1}},
		Services: []config.ServiceConfig{{Name: "s", Instances: []config.InstanceConfig{{Addr: ln.Addr().String()}}}},
		Routes:   []config.RouteConfig{{Name: "s", Path: "/", Service: "s", Limits: []string{"one_at_a_time"}}},
	}}, nil)

	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request did not reach the upstream")
	}
	if r := gatewaytest.Do(t, g.Addr().String(), "GET", "/fast", nil, ""); r.Status != 503 {
		t.Fatalf("a second request while the first is in flight: %d %s, want 503 from limit_conn", r.Status, r.Body)
	}
	_ = c.Close() // the first client gives up

	// The route's response timeout is 30 s; the slot must come back long
	// before that.
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := gatewaytest.Do(t, g.Addr().String(), "GET", "/fast", nil, ""); r.Status != 200 || r.String() != "fast" {
			return errorf("after the first client left: %d %s", r.Status, r.Body)
		}
		return nil
	})
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream connection of the abandoned request was not closed")
	}
}
