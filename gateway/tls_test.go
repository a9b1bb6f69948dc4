package gateway_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/tlsconf"
	"github.com/wharfhq/wharf/gateway/tlsconf/tlstest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

type tlsNode struct {
	g                 *gateway.Gateway
	ca                *tlstest.CA
	dir               string
	shopCert, shopKey string
	up                *upstream
	metrics           *metrics.Set
	logs              *logBuffer
}

// metric is the value of an exported metric line, "" if absent.
func (n *tlsNode) metric(name string) string {
	var b strings.Builder
	n.metrics.WritePrometheus(&b)
	for _, l := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// startTLS runs a gateway with a plain and an HTTPS listener, a default
// certificate, one for shop.example.com and a wildcard, and a route from
// every host to a real upstream.
func startTLS(t *testing.T, redirect bool, redirectPort int, trusted ...netip.Prefix) *tlsNode {
	t.Helper()
	n := &tlsNode{ca: tlstest.NewCA(t), dir: t.TempDir(), up: startUpstream(t, "app"), metrics: metrics.NewSet(), logs: &logBuffer{}}
	defCert, defKey := n.ca.Write(t, n.dir, "default", "default.test")
	n.shopCert, n.shopKey = n.ca.Write(t, n.dir, "shop", "shop.example.com")
	wildCert, wildKey := n.ca.Write(t, n.dir, "wild", "*.apps.example.com")
	n.g = gatewaytest.Start(t, gateway.Options{
		TrustedProxies: trusted,
		Metrics:        n.metrics,
		Logger:         slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Edge: config.Edge{
			Services: []config.ServiceConfig{{Name: "app", Instances: []config.InstanceConfig{{Addr: n.up.addr}}}},
			Routes:   []config.RouteConfig{{Name: "all", Path: "/", Service: "app"}},
		},
		TLS: &gateway.TLSOptions{
			Listen: "127.0.0.1:0",
			Pairs: []tlsconf.Pair{
				{CertFile: defCert, KeyFile: defKey}, {CertFile: n.shopCert, KeyFile: n.shopKey}, {CertFile: wildCert, KeyFile: wildKey},
			},
			CheckEvery:   10 * time.Millisecond,
			RedirectHTTP: redirect,
			RedirectPort: redirectPort,
		},
	}, echoFunctions{})
	return n
}

// roundTrip sends one HTTP/1.1 request on c and reads the response.
func roundTrip(t *testing.T, c net.Conn, host, path string) *http.Response {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	var body strings.Builder
	_, _ = bufioCopy(&body, resp)
	return resp
}

func bufioCopy(b *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

func TestTLSListenerProxiesWithForwardedProto(t *testing.T) {
	n := startTLS(t, false, 0)
	addr := n.g.TLSAddr().String()
	for _, tc := range []struct{ sni, cn string }{
		{"shop.example.com", "shop.example.com"}, {"x.apps.example.com", "*.apps.example.com"},
	} {
		c := n.ca.Dial(t, addr, tc.sni)
		if got := tlstest.Leaf(c).Subject.CommonName; got != tc.cn {
			t.Errorf("SNI %s: certificate of %s, want %s", tc.sni, got, tc.cn)
		}
		resp := roundTrip(t, c, tc.sni, "/hello")
		_ = c.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("SNI %s: status %d", tc.sni, resp.StatusCode)
		}
		if got := n.up.header("X-Forwarded-Proto"); got != "https" {
			t.Errorf("SNI %s: upstream got X-Forwarded-Proto %q, want https", tc.sni, got)
		}
		if got := n.up.header("X-Forwarded-Host"); got != tc.sni {
			t.Errorf("SNI %s: upstream got X-Forwarded-Host %q", tc.sni, got)
		}
	}
	// A client without SNI gets the default certificate.
	c := n.ca.Dial(t, addr, "")
	if got := tlstest.Leaf(c).Subject.CommonName; got != "default.test" {
		t.Errorf("no SNI: certificate of %s, want default.test", got)
	}
	_ = c.Close()

	// A client spoofing X-Forwarded-Proto over TLS or plain HTTP does not
	// change what the upstream hears.
	c = n.ca.Dial(t, addr, "shop.example.com")
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-Proto: http\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("spoofed proto over TLS: %v %v", resp, err)
	}
	_ = c.Close()
	if got := n.up.header("X-Forwarded-Proto"); got != "https" {
		t.Errorf("client sent http over TLS: upstream got %q, want https", got)
	}
	r := gatewaytest.Do(t, n.g.Addr().String(), "GET", "/", map[string]string{"X-Forwarded-Proto": "https"}, "")
	if r.Status != 200 || n.up.header("X-Forwarded-Proto") != "http" {
		t.Errorf("plain request claiming https: status %d, upstream proto %q, want http", r.Status, n.up.header("X-Forwarded-Proto"))
	}

	// TLS 1.1 is refused, HTTP/2-only clients too.
	cfg := n.ca.ClientConfig("shop.example.com")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	if c, err := tls.Dial("tcp", addr, cfg); err == nil {
		_ = c.Close()
		t.Error("a TLS 1.1 client was served")
	}
	// Plain HTTP sent to the TLS port gets no HTTP answer (and the
	// gateway keeps serving).
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = raw.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	b := make([]byte, 64)
	k, _ := raw.Read(b)
	_ = raw.Close()
	if strings.HasPrefix(string(b[:k]), "HTTP/1.1 200") {
		t.Errorf("plain HTTP on the TLS port answered %q", b[:k])
	}
	c = n.ca.Dial(t, addr, "shop.example.com")
	if resp := roundTrip(t, c, "shop.example.com", "/"); resp.StatusCode != 200 {
		t.Errorf("after bad clients: status %d", resp.StatusCode)
	}
	_ = c.Close()
}

func TestTLSForwardedProtoFromTrustedProxy(t *testing.T) {
	n := startTLS(t, false, 0, netip.MustParsePrefix("127.0.0.0/8"))
	// A trusted proxy that terminated TLS itself says https over plain HTTP.
	r := gatewaytest.Do(t, n.g.Addr().String(), "GET", "/", map[string]string{"X-Forwarded-Proto": "https"}, "")
	if r.Status != 200 || n.up.header("X-Forwarded-Proto") != "https" {
		t.Errorf("trusted proxy's https: status %d, upstream %q", r.Status, n.up.header("X-Forwarded-Proto"))
	}
	r = gatewaytest.Do(t, n.g.Addr().String(), "GET", "/", nil, "")
	if r.Status != 200 || n.up.header("X-Forwarded-Proto") != "http" {
		t.Errorf("trusted proxy without the header: upstream %q, want http", n.up.header("X-Forwarded-Proto"))
	}
}

func TestTLSCertificateReloadKeepsKeepAliveConnection(t *testing.T) {
	n := startTLS(t, false, 0)
	addr := n.g.TLSAddr().String()
	open := n.ca.Dial(t, addr, "shop.example.com")
	defer open.Close()
	old := tlstest.Leaf(open).SerialNumber
	if resp := roundTrip(t, open, "shop.example.com", "/1"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// A broken file keeps the old certificate.
	tlstest.Replace(t, n.shopCert, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"))
	testenv.Eventually(t, 5*time.Second, func() error {
		if v := n.metric("wharf_gateway_tls_reload_errors_total"); v != "1" {
			return errorf("reload_errors_total %q, want 1", v)
		}
		return nil
	})
	c := n.ca.Dial(t, addr, "shop.example.com")
	if tlstest.Leaf(c).SerialNumber.Cmp(old) != 0 {
		t.Error("a broken certificate file replaced the served certificate")
	}
	_ = c.Close()

	n.ca.Write(t, n.dir, "shop", "shop.example.com")
	testenv.Eventually(t, 5*time.Second, func() error {
		c := n.ca.Dial(t, addr, "shop.example.com")
		defer c.Close()
		if tlstest.Leaf(c).SerialNumber.Cmp(old) == 0 {
			return errorf("new handshakes still get the old certificate")
		}
		return nil
	})
	if resp := roundTrip(t, open, "shop.example.com", "/2"); resp.StatusCode != 200 {
		t.Fatalf("the keep-alive connection after the reload: status %d", resp.StatusCode)
	}
	if v := n.metric("wharf_gateway_tls_reloads_total"); v != "1" {
		t.Errorf("reloads_total %q, want 1", v)
	}
}

func TestHTTPRedirectsToHTTPS(t *testing.T) {
	n := startTLS(t, true, 0)
	tlsPort := strconv.Itoa(n.g.TLSAddr().(*net.TCPAddr).Port)
	plain := n.g.Addr().String()
	for _, tc := range []struct{ host, path, want string }{
		{"shop.example.com", "/a/b?x=1&y=%20", "https://shop.example.com:" + tlsPort + "/a/b?x=1&y=%20"},
		{"shop.example.com:8080", "/", "https://shop.example.com:" + tlsPort + "/"},
		{"[::1]:80", "/p", "https://[::1]:" + tlsPort + "/p"},
	} {
		r := gatewaytest.Do(t, plain, "GET", tc.path, map[string]string{"Host": tc.host}, "")
		if r.Status != 308 || r.Get("Location") != tc.want {
			t.Errorf("Host %s %s: %d Location %q, want 308 %q", tc.host, tc.path, r.Status, r.Get("Location"), tc.want)
		}
	}
	// Raw, so the path is sent as is: a path starting with // stays a path
	// on the requested host.
	raw, err := net.Dial("tcp", plain)
	if err != nil {
		t.Fatal(err)
	}
	if resp := roundTrip(t, raw, "Shop.Example.com", "//evil.test/x?a=%2F"); resp.StatusCode != 308 ||
		resp.Header.Get("Location") != "https://Shop.Example.com:"+tlsPort+"//evil.test/x?a=%2F" {
		t.Errorf("path //evil.test/x: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_ = raw.Close()
	if hits := n.up.hits.Load(); hits != 0 {
		t.Errorf("redirected requests reached the upstream %d times", hits)
	}
	// A bad Host gets a JSON 400 naming it, not a redirect elsewhere.
	for _, host := range []string{"evil.test/x", "a@b", "a:b:c", "[::1", "x:80x", ""} {
		raw, err := net.Dial("tcp", plain)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
		req := "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		if host == "" {
			req = "GET / HTTP/1.0\r\n\r\n"
		}
		_, _ = raw.Write([]byte(req))
		resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
		if err != nil {
			t.Fatalf("Host %q: %v", host, err)
		}
		var body struct{ Error string }
		derr := json.NewDecoder(resp.Body).Decode(&body)
		_ = raw.Close()
		if resp.StatusCode != 400 || derr != nil || !strings.Contains(strings.ToLower(body.Error), "host") {
			t.Errorf("Host %q: %d %q (%v), want 400 naming Host", host, resp.StatusCode, body.Error, derr)
		}
	}
	// A request with a body is redirected (308 keeps the method) and the
	// connection closed, so its unread body is never taken as a request.
	raw, err = net.Dial("tcp", plain)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	body := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	_, _ = raw.Write([]byte("POST /upload HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	br := bufio.NewReader(raw)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 308 || !resp.Close {
		t.Errorf("POST with body: %d close=%v, want 308 and Connection: close", resp.StatusCode, resp.Close)
	}
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Error("a second response came on the connection: the body was read as a request")
	}
	// ACME HTTP-01 challenges are served over plain HTTP, not redirected.
	r := gatewaytest.Do(t, plain, "GET", "/.well-known/acme-challenge/token1", map[string]string{"Host": "shop.example.com"}, "")
	if r.Status != 200 || n.up.header("X-Forwarded-Proto") != "http" {
		t.Errorf("ACME challenge: %d (upstream proto %q), want it proxied over http", r.Status, n.up.header("X-Forwarded-Proto"))
	}
	// HTTPS itself is served.
	c := n.ca.Dial(t, n.g.TLSAddr().String(), "shop.example.com")
	defer c.Close()
	if resp := roundTrip(t, c, "shop.example.com", "/"); resp.StatusCode != 200 {
		t.Errorf("HTTPS with redirect on: %d", resp.StatusCode)
	}
}

func TestHTTPRedirectToStandardPort(t *testing.T) {
	n := startTLS(t, true, 443)
	r := gatewaytest.Do(t, n.g.Addr().String(), "HEAD", "/x?q", map[string]string{"Host": "shop.example.com:80"}, "")
	if r.Status != 308 || r.Get("Location") != "https://shop.example.com/x?q" {
		t.Errorf("%d Location %q, want 308 https://shop.example.com/x?q", r.Status, r.Get("Location"))
	}
}

// A failed handshake (old client, scanner, plain HTTP on the HTTPS port)
// is counted and not logged as a warning per connection.
func TestTLSHandshakeFailuresCountedQuietly(t *testing.T) {
	n := startTLS(t, false, 0)
	addr := n.g.TLSAddr().String()
	cfg := n.ca.ClientConfig("shop.example.com")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	for i := 0; i < 3; i++ {
		if c, err := tls.Dial("tcp", addr, cfg); err == nil {
			_ = c.Close()
			t.Fatal("a TLS 1.1 client was served")
		}
	}
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = raw.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_, _ = raw.Read(make([]byte, 64))
	_ = raw.Close()
	// A connection closed before any byte (a TCP health check) is no failure.
	if raw, err = net.Dial("tcp", addr); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	testenv.Eventually(t, 5*time.Second, func() error {
		if v := n.metric("wharf_gateway_tls_handshake_errors_total"); v != "4" {
			return errorf("handshake_errors_total %q, want 4", v)
		}
		return nil
	})
	c := n.ca.Dial(t, addr, "shop.example.com")
	if resp := roundTrip(t, c, "shop.example.com", "/"); resp.StatusCode != 200 {
		t.Errorf("after failed handshakes: status %d", resp.StatusCode)
	}
	_ = c.Close()
	if logs := n.logs.String(); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("failed handshakes were logged as warnings or errors:\n%s", logs)
	}
}

// With no plain listener the gateway serves HTTPS only, and Addr is the
// HTTPS address.
func TestTLSOnly(t *testing.T) {
	ca, dir := tlstest.NewCA(t), t.TempDir()
	cert, key := ca.Write(t, dir, "only", "only.test")
	g, err := gateway.New(gateway.Options{TLS: &gateway.TLSOptions{
		Listen: "127.0.0.1:0", Pairs: []tlsconf.Pair{{CertFile: cert, KeyFile: key}},
	}}, echoFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	defer func() {
		if err := g.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if g.Addr().String() != g.TLSAddr().String() {
		t.Fatalf("Addr %s, TLSAddr %s", g.Addr(), g.TLSAddr())
	}
	c := ca.Dial(t, g.TLSAddr().String(), "only.test")
	defer c.Close()
	if resp := roundTrip(t, c, "only.test", "/nothing-here"); resp.StatusCode != 404 {
		t.Errorf("status %d, want 404 (no route)", resp.StatusCode)
	}
}
