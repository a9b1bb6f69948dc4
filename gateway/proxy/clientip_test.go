package proxy

import (
	"bufio"
	"net"
	"testing"
)

// clientIPHeaders are the headers upstreams commonly read a client address
// (or the scheme and host it used) from.
var clientIPHeaders = []string{
	"X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Client-IP",
	"X-Cluster-Client-IP", "Fastly-Client-IP", "Forwarded",
	"X-Forwarded", "Forwarded-For", "X-Original-Forwarded-For", "Client-IP",
	"X-Originating-IP", "X-Remote-IP", "X-Remote-Addr", "X-Forwarded-Port",
}

// TestClientIPHeadersFromUntrustedPeers: a client that is not a trusted
// proxy cannot make the upstream believe in another client address through
// any of the usual client-IP headers, whatever their case or count; a
// trusted proxy's are passed on.
func TestClientIPHeadersFromUntrustedPeers(t *testing.T) {
	heads := make(chan rawHead, 4)
	addr, _ := rawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			h, err := readHead(br)
			if err != nil {
				return
			}
			heads <- h
			if _, err := c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
				return
			}
		}
	})
	tr := NewTransport(Options{})
	f := startFront(t, tr.NewRoute(mustService(t, "shop", nil, addr), RouteConfig{}))
	req := "GET / HTTP/1.1\r\nHost: shop.example.com\r\n" +
		"x-real-ip: 203.0.113.66\r\n" +
		"X-REAL-IP: 203.0.113.67\r\n" +
		"True-Client-IP: 203.0.113.66\r\n" +
		"cf-connecting-ip: 203.0.113.66\r\n" +
		"X-Client-IP: 203.0.113.66\r\n" +
		"X-Cluster-Client-IP: 203.0.113.66\r\n" +
		"Fastly-Client-IP: 203.0.113.66\r\n" +
		"Forwarded: for=203.0.113.66;proto=https\r\n" +
		"X-Forwarded: for=203.0.113.66\r\n" +
		"Forwarded-For: 203.0.113.66\r\n" +
		"X-Original-Forwarded-For: 203.0.113.66\r\n" +
		"Client-IP: 203.0.113.66\r\n" +
		"X-Originating-IP: 203.0.113.66\r\n" +
		"X-Remote-IP: 203.0.113.66\r\n" +
		"X-Remote-Addr: 203.0.113.66\r\n" +
		"X-Forwarded-Port: 443\r\n" +
		"X-Forwarded-For: 203.0.113.66\r\n" +
		"x-forwarded-for: 203.0.113.68\r\n" +
		"X-Forwarded-Host: evil.example\r\n" +
		"X-Forwarded-Proto: https\r\n" +
		"\r\n"
	for _, trusted := range []bool{false, true} {
		f.trusted.Store(trusted)
		if resp, _ := roundTrip(t, f.addr, req); resp.status() != 204 {
			t.Fatalf("trusted=%v: status %d", trusted, resp.status())
		}
		up := <-heads
		for _, n := range clientIPHeaders {
			v := up.values(n)
			if !trusted && len(v) > 0 {
				t.Errorf("untrusted peer's %s reached the upstream: %q", n, v)
			}
			if trusted && len(v) == 0 {
				t.Errorf("trusted proxy's %s was dropped", n)
			}
		}
		wantXFF, wantProto, wantHost := "127.0.0.1", "http", "shop.example.com"
		if trusted {
			wantXFF, wantProto, wantHost = "203.0.113.66, 203.0.113.68, 127.0.0.1", "https", "evil.example"
		}
		for name, want := range map[string]string{"X-Forwarded-For": wantXFF, "X-Forwarded-Proto": wantProto, "X-Forwarded-Host": wantHost} {
			if v := up.values(name); len(v) != 1 || v[0] != want {
				t.Errorf("trusted=%v: upstream %s = %q, want %q", trusted, name, v, want)
			}
		}
	}
}
