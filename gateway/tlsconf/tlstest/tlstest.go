// Package tlstest makes certificates for the gateway's TLS tests: the
// throw-away CA of internal/testenv, whose leaves are written to PEM files
// the gateway loads (and replaced the way certificate tools do), and client
// configs that trust it.
package tlstest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

// CA is a test certificate authority (internal/testenv.CA: Pool, Issue).
type CA struct{ *testenv.CA }

// NewCA makes a CA valid for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	return &CA{testenv.NewCA(t, "wharf test CA")}
}

// Write issues a leaf for names and writes it to dir/<base>.crt and
// dir/<base>.key, returning the two paths.
func (ca *CA) Write(t testing.TB, dir, base string, names ...string) (certFile, keyFile string) {
	t.Helper()
	c, k := ca.Issue(t, names...)
	certFile, keyFile = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	Replace(t, certFile, c)
	Replace(t, keyFile, k)
	return certFile, keyFile
}

// Replace writes data to a temporary file beside path and renames it over
// path, the way certificate tools update files atomically.
func Replace(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ClientConfig trusts only this CA, sends serverName as SNI and offers
// ALPN http/1.1.
func (ca *CA) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, NextProtos: []string{"http/1.1"}}
}

// Dial handshakes with addr as serverName (empty: no SNI, and the chain is
// not verified against a name) and returns the connection.
func (ca *CA) Dial(t testing.TB, addr, serverName string) *tls.Conn {
	t.Helper()
	cfg := ca.ClientConfig(serverName)
	if serverName == "" {
		cfg.InsecureSkipVerify = true // no name to verify; the caller checks the leaf
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s (SNI %q): %v", addr, serverName, err)
	}
	return c
}

// Leaf is the certificate the server presented on c.
func Leaf(c *tls.Conn) *x509.Certificate {
	st := c.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return nil
	}
	return st.PeerCertificates[0]
}
