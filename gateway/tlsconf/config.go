package tlsconf

import (
	"crypto/tls"
	"fmt"
)

// ParseVersion turns "1.2" or "1.3" into the tls.Version constant; empty
// means 1.2. Older versions are refused.
func ParseVersion(s string) (uint16, error) {
	switch s {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version must be 1.2 or 1.3, got %q", s)
}

// ServerConfig is the gateway's TLS server config over s: certificates by
// SNI, minVersion (tls.VersionTLS12 or 13) up to TLS 1.3, Go's default
// cipher suites and curves, session tickets with Go's rotating keys, and
// ALPN offering only http/1.1 (the gateway speaks HTTP/1.1; a client that
// offers only h2 is refused rather than misunderstood).
func (s *Store) ServerConfig(minVersion uint16) *tls.Config {
	if minVersion < tls.VersionTLS12 {
		minVersion = tls.VersionTLS12
	}
	return &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: s.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}
