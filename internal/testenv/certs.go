package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a throw-away certificate authority for tests of TLS: between Wharf
// and its dependencies (nsqd), and at the gateway's edge (see
// gateway/tlsconf/tlstest). Its files live in a test temp dir.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	dir  string
	// CertFile is the CA certificate in PEM, for clients to trust.
	CertFile string
}

// NewCA makes a CA valid for a day and writes its certificate to CertFile.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{cert: cert, key: key, pool: x509.NewCertPool(), dir: t.TempDir()}
	ca.pool.AddCert(cert)
	ca.CertFile = filepath.Join(ca.dir, "ca.crt")
	writeFile(t, ca.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ca
}

// Pool is a cert pool trusting only this CA.
func (ca *CA) Pool() *x509.CertPool { return ca.pool }

// Issue returns the PEM certificate and PKCS#8 key of a new server leaf for
// names (IP addresses become IP SANs, others DNS SANs; the first is also
// the common name).
func (ca *CA) Issue(t testing.TB, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	return ca.issue(t, x509.ExtKeyUsageServerAuth, names)
}

// Server issues a server certificate for names (as Issue) and returns its
// PEM cert and key files.
func (ca *CA) Server(t testing.TB, base string, names ...string) (certFile, keyFile string) {
	t.Helper()
	return ca.write(t, base, x509.ExtKeyUsageServerAuth, names)
}

// Client issues a client certificate with common name cn.
func (ca *CA) Client(t testing.TB, base, cn string) (certFile, keyFile string) {
	t.Helper()
	return ca.write(t, base, x509.ExtKeyUsageClientAuth, []string{cn})
}

func (ca *CA) write(t testing.TB, base string, usage x509.ExtKeyUsage, names []string) (certFile, keyFile string) {
	t.Helper()
	c, k := ca.issue(t, usage, names)
	certFile, keyFile = filepath.Join(ca.dir, base+".crt"), filepath.Join(ca.dir, base+".key")
	writeFile(t, certFile, c)
	writeFile(t, keyFile, k)
	return certFile, keyFile
}

func (ca *CA) issue(t testing.TB, usage x509.ExtKeyUsage, names []string) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(t), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
