package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/nsqio/go-nsq"
)

// SecurityOptions says how Wharf's NSQ clients protect their connections to
// nsqd: TLS (nsqd's --tls-required, --tls-client-auth-policy) and the AUTH
// secret (nsqd's --auth-http-address). Paths are read once, by LoadSecurity.
type SecurityOptions struct {
	// TLS upgrades every nsqd connection to TLS (go-nsq tls_v1), at least
	// TLS 1.2, verifying nsqd's certificate.
	TLS bool
	// CAFile is a PEM file of the CAs nsqd's certificate must chain to;
	// empty: the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and key presented to
	// an nsqd with --tls-client-auth-policy=require-verify. Both or neither.
	CertFile, KeyFile string
	// ServerName is the name nsqd's certificate is verified against; empty:
	// the host part of each nsqd address. (go-nsq always sends the address's
	// host as SNI; nsqd serves one certificate, so only verification uses it.)
	ServerName string
	// AuthSecretFile holds the secret sent in nsqd's AUTH command
	// (surrounding white space trimmed). Empty: no AUTH.
	AuthSecretFile string
}

// Security is the loaded form of SecurityOptions, shared by every producer
// and consumer of a process. The zero value and nil mean plain TCP without
// AUTH. It never prints or logs the secret.
type Security struct {
	tls    *tls.Config
	secret string
}

// LoadSecurity reads the CA, client certificate and secret files of o.
// Errors name the file and the option it came from, never its contents.
func LoadSecurity(o SecurityOptions) (*Security, error) {
	s := &Security{}
	if !o.TLS && (o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.ServerName != "") {
		return nil, errors.New("cannot load nsq security: a CA, client certificate or server name is set but TLS is off")
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("cannot load nsq security: the client certificate and key must be given together")
	}
	if o.TLS {
		cfg, err := clientTLS(o)
		if err != nil {
			return nil, err
		}
		s.tls = cfg
	}
	if o.AuthSecretFile != "" {
		b, err := os.ReadFile(o.AuthSecretFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the nsqd auth secret file: %w", err)
		}
		s.secret = strings.TrimSpace(string(b))
		if s.secret == "" {
			return nil, fmt.Errorf("cannot use the nsqd auth secret file %s: it is empty", o.AuthSecretFile)
		}
		if strings.ContainsAny(s.secret, "\r\n") {
			return nil, fmt.Errorf("cannot use the nsqd auth secret file %s: the secret must be one line", o.AuthSecretFile)
		}
	}
	return s, nil
}

// clientTLS builds the client TLS config: TLS 1.2 at least, the CA file's
// roots (or the system's), the client certificate, and verification against
// ServerName when one is set.
func clientTLS(o SecurityOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the nsqd CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot use the nsqd CA file %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load the nsq client certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.ServerName != "" {
		// go-nsq overwrites ServerName with the address's host, so the
		// chain is verified here against the configured name instead.
		roots, name := cfg.RootCAs, o.ServerName
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPeer(cs, roots, name)
		}
	}
	return cfg, nil
}

// verifyPeer checks nsqd's chain against roots (nil: the system's) and name.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("nsqd presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("cannot verify nsqd's certificate for %s: %w", name, err)
	}
	return nil
}

// apply sets s on a go-nsq config. A nil s leaves it plain.
func (s *Security) apply(cfg *nsq.Config) {
	// go-nsq would otherwise send the AUTH secret to nsqlookupd as a bearer
	// token over plain HTTP; nsqlookupd does not check it.
	cfg.LookupdAuthorization = false
	if s == nil {
		return
	}
	if s.tls != nil {
		cfg.TlsV1 = true
		cfg.TlsConfig = s.tls
	}
	cfg.AuthSecret = s.secret
}

// TLS reports whether connections use TLS.
func (s *Security) TLS() bool { return s != nil && s.tls != nil }

// Auth reports whether connections send an AUTH secret.
func (s *Security) Auth() bool { return s != nil && s.secret != "" }

// String describes s without the secret.
func (s *Security) String() string {
	return fmt.Sprintf("nsq security{tls: %t, auth: %t}", s.TLS(), s.Auth())
}

// GoString describes s without the secret (for %#v).
func (s *Security) GoString() string { return s.String() }

// LogValue describes s to log/slog without the secret.
func (s *Security) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("tls", s.TLS()), slog.Bool("auth", s.Auth()))
}
