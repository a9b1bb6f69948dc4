package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/tlsconf/tlstest"
	"github.com/wharfhq/wharf/internal/testenv"
)

var reHTTPS = regexp.MustCompile(`https:\s+(https://(\S+))`)

// protoUpstream is a real HTTP upstream that remembers the
// X-Forwarded-Proto of the last request.
func protoUpstream(t *testing.T) (addr string, proto *atomic.Pointer[string]) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proto = new(atomic.Pointer[string])
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.Header.Get("X-Forwarded-Proto")
		proto.Store(&p)
		fmt.Fprintf(w, "shop %s", r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), proto
}

// httpsClient trusts only ca and dials addr whatever the URL's host, so
// the URL's host is the SNI name.
func httpsClient(ca *tlstest.CA, addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool()},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	defCert, defKey := ca.Write(t, dir, "default", "api.example.test")
	shopCert, shopKey := ca.Write(t, dir, "shop", "*.shop.example.test")
	up, proto := protoUpstream(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	yaml := fmt.Sprintf(`gateway:
  tls:
    listen: "127.0.0.1:0"
    cert_files: [%s, %s]
    key_files: [%s, %s]
    reload_check_every: 50ms
    redirect_http: true
agent:
  local: false
services:
  - name: shop
    instances: [{addr: %q}]
routes:
  - name: shop
    host: "*.shop.example.test"
    path: /
    service: shop
`, defCert, shopCert, defKey, shopKey, up)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	plain := p.waitFor(reGateway, 30*time.Second)[1]
	m := p.waitFor(reHTTPS, 5*time.Second)
	tlsAddr := m[2]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	tok := p.waitFor(reToken, 5*time.Second)[1]
	_, port, _ := net.SplitHostPort(tlsAddr)
	c := httpsClient(ca, tlsAddr)

	// The API over HTTPS, with the default certificate's name.
	req, _ := http.NewRequest("GET", "https://api.example.test:"+port+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("whoami over https: %d %+v", resp.StatusCode, resp.TLS)
	}
	// An app route over HTTPS with the wildcard certificate: the upstream
	// hears https.
	resp, err = c.Get("https://www.shop.example.test:" + port + "/cart")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].Subject.CommonName != "*.shop.example.test" {
		t.Fatalf("shop over https: %d", resp.StatusCode)
	}
	if p := proto.Load(); p == nil || *p != "https" {
		t.Fatalf("upstream X-Forwarded-Proto %v, want https", p)
	}
	// Plain HTTP is redirected to the HTTPS port.
	preq, _ := http.NewRequest("GET", plain+"/cart?x=1", nil)
	preq.Host = "www.shop.example.test"
	presp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(preq)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if want := "https://www.shop.example.test:" + port + "/cart?x=1"; presp.StatusCode != 308 || presp.Header.Get("Location") != want {
		t.Fatalf("plain request: %d Location %q, want 308 %s", presp.StatusCode, presp.Header.Get("Location"), want)
	}
	// A renewed certificate is served without a restart.
	old := resp.TLS.PeerCertificates[0].SerialNumber
	ca.Write(t, dir, "shop", "*.shop.example.test")
	testenv.Eventually(t, 10*time.Second, func() error {
		c := httpsClient(ca, tlsAddr) // a new connection
		resp, err := c.Get("https://www.shop.example.test:" + port + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.TLS.PeerCertificates[0].SerialNumber.Cmp(old) == 0 {
			return errString("still the old certificate")
		}
		return nil
	})
	if mr := call(t, "GET", internal+"/metrics", "", nil); !strings.Contains(mr.raw, "wharf_gateway_tls_reloads_total 1") {
		t.Fatalf("reload not counted: %s", grepLines(mr.raw, "tls"))
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, p.errOut())
	}
}

func TestServeTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	cert, key := ca.Write(t, dir, "a", "a.test")
	missing := filepath.Join(dir, "missing.crt")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--gateway-tls-listen", "127.0.0.1:0", "--gateway-tls-cert-files", missing, "--gateway-tls-key-files", key}, missing},
		{[]string{"--gateway-tls-listen", "127.0.0.1:0", "--gateway-tls-cert-files", cert}, "gateway.tls.key_files"},
		{[]string{"--gateway-tls-listen", "127.0.0.1:0", "--gateway-tls-cert-files", cert, "--gateway-tls-key-files", key, "--gateway-tls-min-version", "1.0"}, "gateway.tls.min_version"},
		// The local agent calls the gateway over plain HTTP on loopback.
		{[]string{"--gateway-tls-listen", "127.0.0.1:0", "--gateway-tls-cert-files", cert, "--gateway-tls-key-files", key, "--gateway-tls-redirect-http"}, "agent.local"},
	} {
		_, stderr, code := runWharf(t, t.TempDir(), nil, append(serveArgs(t), tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error naming %s", tc.args, code, stderr, tc.want)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The gateway role with HTTPS only (no plain listener).
func TestGatewayRoleHTTPSOnly(t *testing.T) {
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	cert, key := ca.Write(t, dir, "gw", "gw.example.test")
	p := startWharf(t, dir, nil, "gateway", "--internal-listen", "127.0.0.1:0", "--shutdown-grace", "5s",
		"--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr, "--gateway-listen=",
		"--gateway-tls-listen", "127.0.0.1:0", "--gateway-tls-cert-files", cert, "--gateway-tls-key-files", key,
		"--gateway-tls-min-version", "1.3")
	m := p.waitFor(regexp.MustCompile(`Wharf \S+ is running \(role gateway\)\. https: https://(\S+), internal`), 30*time.Second)
	tok := p.waitFor(reToken, 5*time.Second)[1]
	_, port, _ := net.SplitHostPort(m[1])
	req, _ := http.NewRequest("GET", "https://gw.example.test:"+port+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := httpsClient(ca, m[1]).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("whoami over https: %d, TLS version %x", resp.StatusCode, resp.TLS.Version)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, p.errOut())
	}
}
