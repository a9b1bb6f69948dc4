package tlsconf_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/wharfhq/wharf/gateway/tlsconf"
)

// BenchmarkHandshake is one full TLS handshake (no resumption) of a client
// with SNI against the gateway's server config, over an in-memory pipe: the
// per-connection cost of the HTTPS listener. Client and server both run in
// the benchmark, so ns/op is the sum of both sides.
func BenchmarkHandshake(b *testing.B) {
	for _, v := range []struct {
		name string
		ver  uint16
	}{{"TLS12", tls.VersionTLS12}, {"TLS13", tls.VersionTLS13}} {
		b.Run(v.name, func(b *testing.B) {
			f := newFixture(b)
			s, err := tlsconf.New(tlsconf.Options{Pairs: f.pairs()})
			if err != nil {
				b.Fatal(err)
			}
			srvCfg := s.ServerConfig(tls.VersionTLS12)
			cliCfg := f.ca.ClientConfig("a.apps.example.com")
			cliCfg.MaxVersion = v.ver
			cliCfg.ClientSessionCache = nil
			b.ReportAllocs()
			for b.Loop() {
				c1, c2 := net.Pipe()
				srv, cli := tls.Server(c1, srvCfg), tls.Client(c2, cliCfg)
				done := make(chan error, 1)
				go func() { done <- srv.Handshake() }()
				if err := cli.Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				_ = c1.Close()
				_ = c2.Close()
			}
		})
	}
}

// BenchmarkGetCertificate is the SNI lookup alone.
func BenchmarkGetCertificate(b *testing.B) {
	f := newFixture(b)
	s, err := tlsconf.New(tlsconf.Options{Pairs: f.pairs()})
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "a.apps.example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if c, _ := s.GetCertificate(hello); c == nil {
			b.Fatal("no certificate")
		}
	}
}
