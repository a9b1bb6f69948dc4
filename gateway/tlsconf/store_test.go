package tlsconf_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/gateway/tlsconf"
	"github.com/wharfhq/wharf/gateway/tlsconf/tlstest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// echoServer serves cfg on a loopback port: every line a client sends comes
// back. It stops at test cleanup.
func echoServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
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
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func echo(t *testing.T, c *tls.Conn, msg string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		t.Fatalf("write on the open connection: %v", err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo on the open connection: %q, %v", got, err)
	}
}

type fixture struct {
	ca                *tlstest.CA
	dir               string
	defCert, defKey   string
	shopCert, shopKey string
	wildCert, wildKey string
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{ca: tlstest.NewCA(t), dir: t.TempDir()}
	f.defCert, f.defKey = f.ca.Write(t, f.dir, "default", "default.test")
	f.shopCert, f.shopKey = f.ca.Write(t, f.dir, "shop", "shop.example.com", "www.shop.example.com")
	f.wildCert, f.wildKey = f.ca.Write(t, f.dir, "wild", "*.apps.example.com")
	return f
}

func (f *fixture) pairs() []tlsconf.Pair {
	return []tlsconf.Pair{{CertFile: f.defCert, KeyFile: f.defKey}, {CertFile: f.shopCert, KeyFile: f.shopKey}, {CertFile: f.wildCert, KeyFile: f.wildKey}}
}

func newStore(t *testing.T, opts tlsconf.Options) *tlsconf.Store {
	t.Helper()
	s, err := tlsconf.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSNIChoosesCertificate(t *testing.T) {
	f := newFixture(t)
	s := newStore(t, tlsconf.Options{Pairs: f.pairs()})
	addr := echoServer(t, s.ServerConfig(tls.VersionTLS12))
	for _, tc := range []struct{ sni, want string }{
		{"shop.example.com", "shop.example.com"},
		{"www.shop.example.com", "shop.example.com"},
		{"SHOP.Example.COM", "shop.example.com"},
		{"a.apps.example.com", "*.apps.example.com"},
		{"b.apps.example.com", "*.apps.example.com"},
		{"x.a.apps.example.com", "default.test"}, // a wildcard covers one label only
		{"apps.example.com", "default.test"},
		{"unknown.example.org", "default.test"},
		{"", "default.test"}, // no SNI
	} {
		cfg := f.ca.ClientConfig(tc.sni)
		cfg.InsecureSkipVerify = true // names that fall back to the default do not verify
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatalf("SNI %q: %v", tc.sni, err)
		}
		leaf := tlstest.Leaf(c)
		if leaf.Subject.CommonName != tc.want {
			t.Errorf("SNI %q: got the certificate of %q, want %q", tc.sni, leaf.Subject.CommonName, tc.want)
		}
		if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Errorf("SNI %q: ALPN %q, want http/1.1", tc.sni, p)
		}
		echo(t, c, "hello")
		_ = c.Close()
	}
	// The chosen certificates verify against the CA for their names.
	for _, name := range []string{"shop.example.com", "a.apps.example.com"} {
		c := f.ca.Dial(t, addr, name)
		_ = c.Close()
	}
}

func TestOldTLSVersionsRefused(t *testing.T) {
	f := newFixture(t)
	s := newStore(t, tlsconf.Options{Pairs: f.pairs()})
	addr := echoServer(t, s.ServerConfig(tls.VersionTLS12))
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		cfg := f.ca.ClientConfig("shop.example.com")
		cfg.MinVersion, cfg.MaxVersion = v, v
		c, err := tls.Dial("tcp", addr, cfg)
		if err == nil {
			_ = c.Close()
			t.Fatalf("a %s client completed a handshake", tls.VersionName(v))
		}
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("%s client: %v, want a protocol version alert", tls.VersionName(v), err)
		}
	}
	cfg := f.ca.ClientConfig("shop.example.com")
	cfg.MaxVersion = tls.VersionTLS12
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS 1.2 client refused: %v", err)
	}
	_ = c.Close()

	// min_version 1.3 refuses 1.2.
	addr13 := echoServer(t, s.ServerConfig(tls.VersionTLS13))
	if c, err := tls.Dial("tcp", addr13, cfg); err == nil {
		_ = c.Close()
		t.Fatal("a TLS 1.2 client completed a handshake with min version 1.3")
	}
	c = f.ca.Dial(t, addr13, "shop.example.com")
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("version %s, want TLS 1.3", tls.VersionName(v))
	}
	_ = c.Close()
}

func TestH2OnlyClientRefused(t *testing.T) {
	f := newFixture(t)
	s := newStore(t, tlsconf.Options{Pairs: f.pairs()})
	addr := echoServer(t, s.ServerConfig(tls.VersionTLS12))
	cfg := f.ca.ClientConfig("shop.example.com")
	cfg.NextProtos = []string{"h2"}
	if c, err := tls.Dial("tcp", addr, cfg); err == nil {
		p := c.ConnectionState().NegotiatedProtocol
		_ = c.Close()
		t.Fatalf("an h2-only client completed a handshake (ALPN %q)", p)
	}
}

func TestReloadKeepsOpenConnections(t *testing.T) {
	f := newFixture(t)
	set := metrics.NewSet()
	s := newStore(t, tlsconf.Options{Pairs: f.pairs(), CheckEvery: 10 * time.Millisecond, Metrics: set})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := echoServer(t, s.ServerConfig(tls.VersionTLS12))

	open := f.ca.Dial(t, addr, "shop.example.com")
	defer open.Close()
	before := tlstest.Leaf(open).SerialNumber
	echo(t, open, "before")

	// Replace the certificate and key (renamed over, as certbot or a
	// Kubernetes secret update does).
	f.ca.Write(t, f.dir, "shop", "shop.example.com", "www.shop.example.com")
	testenv.Eventually(t, 5*time.Second, func() error {
		c := f.ca.Dial(t, addr, "shop.example.com")
		defer c.Close()
		if tlstest.Leaf(c).SerialNumber.Cmp(before) == 0 {
			return errString("new handshakes still get the old certificate")
		}
		return nil
	})
	echo(t, open, "after") // the connection opened before the reload still works
	if got := counter(t, set, "wharf_gateway_tls_reloads_total"); got != 1 {
		t.Errorf("reloads_total %d, want 1", got)
	}
	if got := counter(t, set, "wharf_gateway_tls_reload_errors_total"); got != 0 {
		t.Errorf("reload_errors_total %d, want 0", got)
	}
}

func TestBrokenFileKeepsOldCertificate(t *testing.T) {
	f := newFixture(t)
	set := metrics.NewSet()
	s := newStore(t, tlsconf.Options{Pairs: f.pairs(), Metrics: set})
	addr := echoServer(t, s.ServerConfig(tls.VersionTLS12))
	c := f.ca.Dial(t, addr, "shop.example.com")
	want := tlstest.Leaf(c).SerialNumber
	_ = c.Close()
	otherCert, otherKey := f.ca.Issue(t, "shop.example.com")
	steps := []struct {
		name  string
		write func()
	}{
		{"garbage certificate", func() { tlstest.Replace(t, f.shopCert, []byte("not a certificate\n")) }},
		{"key of another certificate", func() {
			good, _ := f.ca.Issue(t, "shop.example.com")
			tlstest.Replace(t, f.shopCert, good)
		}},
		{"empty key", func() { tlstest.Replace(t, f.shopKey, nil) }},
		{"certificate file removed", func() { _ = os.Remove(f.shopCert) }},
	}
	for i, st := range steps {
		st.write()
		if n := s.Check(); n != 0 {
			t.Fatalf("%s: %d pairs reloaded", st.name, n)
		}
		if n := s.Check(); n != 0 { // unchanged files are not retried
			t.Fatalf("%s: second check reloaded %d", st.name, n)
		}
		c := f.ca.Dial(t, addr, "shop.example.com")
		if got := tlstest.Leaf(c).SerialNumber; got.Cmp(want) != 0 {
			t.Errorf("%s: the served certificate changed", st.name)
		}
		_ = c.Close()
		if got := counter(t, set, "wharf_gateway_tls_reload_errors_total"); got != uint64(i+1) {
			t.Errorf("%s: reload_errors_total %d, want %d", st.name, got, i+1)
		}
	}
	// A good pair written afterwards is picked up, even in two steps
	// (certificate first, then its key).
	tlstest.Replace(t, f.shopCert, otherCert)
	s.Check()
	tlstest.Replace(t, f.shopKey, otherKey)
	if n := s.Check(); n != 1 {
		t.Fatalf("good pair: %d reloaded, want 1", n)
	}
	c = f.ca.Dial(t, addr, "shop.example.com")
	defer c.Close()
	if tlstest.Leaf(c).SerialNumber.Cmp(want) == 0 {
		t.Error("the good replacement was not served")
	}
	if got := counter(t, set, "wharf_gateway_tls_reloads_total"); got != 1 {
		t.Errorf("reloads_total %d, want 1", got)
	}
}

func TestNewNamesTheBadFile(t *testing.T) {
	f := newFixture(t)
	missing := filepath.Join(f.dir, "missing.crt")
	_, err := tlsconf.New(tlsconf.Options{Pairs: []tlsconf.Pair{{CertFile: missing, KeyFile: f.shopKey}}})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing certificate: %v, want an error naming %s", err, missing)
	}
	_, err = tlsconf.New(tlsconf.Options{Pairs: []tlsconf.Pair{{CertFile: f.shopCert, KeyFile: f.defKey}}})
	if err == nil || !strings.Contains(err.Error(), f.shopCert) {
		t.Fatalf("mismatched key: %v, want an error naming %s", err, f.shopCert)
	}
	if _, err = tlsconf.New(tlsconf.Options{}); err == nil {
		t.Fatal("no pairs: no error")
	}
	keyPEM, _ := os.ReadFile(f.shopKey)
	if _, err = tlsconf.New(tlsconf.Options{Pairs: []tlsconf.Pair{{CertFile: f.shopKey, KeyFile: f.shopKey}}}); err == nil || strings.Contains(err.Error(), string(keyPEM[40:80])) {
		t.Fatalf("key as certificate: %v (must fail without quoting the key)", err)
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13} {
		if got, err := tlsconf.ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"1.1", "1.0", "tls1.2", "2"} {
		if _, err := tlsconf.ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q): no error", in)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func counter(t *testing.T, set *metrics.Set, name string) uint64 {
	t.Helper()
	var b strings.Builder
	set.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var n uint64
			for _, ch := range v {
				n = n*10 + uint64(ch-'0')
			}
			return n
		}
	}
	t.Fatalf("metric %s not exported", name)
	return 0
}
