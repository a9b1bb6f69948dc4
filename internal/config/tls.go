package config

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// TLSOptions configures the gateway's HTTPS listener.
type TLSOptions struct {
	Listen    string   `yaml:"listen" help:"HTTPS listener address, e.g. :8443 (empty: no HTTPS)"`
	CertFiles []string `yaml:"cert_files" help:"PEM certificate chain files, chosen by SNI from their DNS names; the first is the default for clients without SNI or with an unknown name"`
	KeyFiles  []string `yaml:"key_files" help:"PEM private key files, one per cert_files entry, in the same order"`
	// MinVersion is "1.2" or "1.3".
	MinVersion string        `yaml:"min_version" help:"lowest TLS version accepted: 1.2 or 1.3"`
	CheckEvery time.Duration `yaml:"reload_check_every" help:"how often certificate and key files are checked; changed files are reloaded without dropping connections"`
	// RedirectHTTP turns the plain listener into a redirect to https.
	RedirectHTTP bool `yaml:"redirect_http" help:"answer plain-HTTP requests on gateway.listen with 308 to the same URL over https (except /.well-known/acme-challenge/)"`
	RedirectPort int  `yaml:"redirect_port" help:"port put in redirect Locations (0: the HTTPS listener's; 443 is left out)"`
}

// validateListeners checks gateway.listen and gateway.tls: at least one
// listener, each certificate paired with a key, a known TLS version.
func (g GatewayOptions) validateListeners() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	t := g.TLS
	switch {
	case g.Listen == "" && t.Listen == "":
		bad("gateway.listen", "must be host:port unless gateway.tls.listen is set")
	case g.Listen != "":
		if _, _, err := net.SplitHostPort(g.Listen); err != nil {
			bad("gateway.listen", "must be host:port, got %q", g.Listen)
		}
	}
	if t.Listen == "" {
		if len(t.CertFiles) > 0 || len(t.KeyFiles) > 0 {
			bad("gateway.tls.listen", "must be set when certificates are configured")
		}
		if t.RedirectHTTP {
			bad("gateway.tls.redirect_http", "needs gateway.tls.listen")
		}
		return errors.Join(errs...)
	}
	if _, _, err := net.SplitHostPort(t.Listen); err != nil {
		bad("gateway.tls.listen", "must be host:port, got %q", t.Listen)
	}
	if len(t.CertFiles) == 0 {
		bad("gateway.tls.cert_files", "must list at least one certificate file when gateway.tls.listen is set")
	}
	if len(t.KeyFiles) != len(t.CertFiles) {
		bad("gateway.tls.key_files", "must list one key file per certificate file (%d certificates, %d keys)", len(t.CertFiles), len(t.KeyFiles))
	}
	for i, f := range t.CertFiles {
		if f == "" {
			bad(fmt.Sprintf("gateway.tls.cert_files[%d]", i), "must not be empty")
		}
	}
	for i, f := range t.KeyFiles {
		if f == "" {
			bad(fmt.Sprintf("gateway.tls.key_files[%d]", i), "must not be empty")
		}
	}
	switch t.MinVersion {
	case "1.2", "1.3":
	default:
		bad("gateway.tls.min_version", "must be 1.2 or 1.3, got %q", t.MinVersion)
	}
	if t.CheckEvery <= 0 {
		bad("gateway.tls.reload_check_every", "must be positive, got %s", t.CheckEvery)
	}
	if t.RedirectHTTP && g.Listen == "" {
		bad("gateway.tls.redirect_http", "needs the plain listener gateway.listen")
	}
	if t.RedirectPort < 0 || t.RedirectPort > 65535 {
		bad("gateway.tls.redirect_port", "must be a port number, got %d", t.RedirectPort)
	}
	return errors.Join(errs...)
}
