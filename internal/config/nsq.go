package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secured reports whether any nsq TLS or AUTH option is set.
func (n NSQOptions) Secured() bool {
	return n.TLS || n.TLSCAFile != "" || n.TLSCertFile != "" || n.TLSKeyFile != "" ||
		n.TLSServerName != "" || n.AuthSecretFile != ""
}

// validateSecurity checks the nsq TLS and AUTH options: TLS files and the
// AUTH secret only with nsq.tls, certificate and key together, every named
// file readable.
func (n NSQOptions) validateSecurity() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErr(field, format, args...)) }
	if !n.TLS {
		for _, f := range []struct{ field, v string }{
			{"nsq.tls_ca_file", n.TLSCAFile}, {"nsq.tls_cert_file", n.TLSCertFile},
			{"nsq.tls_key_file", n.TLSKeyFile}, {"nsq.tls_server_name", n.TLSServerName},
		} {
			if f.v != "" {
				bad(f.field, "needs nsq.tls: true (without it the connection is plain and the option would be ignored)")
			}
		}
		if n.AuthSecretFile != "" {
			bad("nsq.auth_secret_file", "needs nsq.tls: true (go-nsq sends the AUTH secret as soon as nsqd asks; without TLS it crosses the network in clear)")
		}
	}
	if n.TLSCertFile != "" && n.TLSKeyFile == "" {
		bad("nsq.tls_key_file", "must be set with nsq.tls_cert_file")
	}
	if n.TLSKeyFile != "" && n.TLSCertFile == "" {
		bad("nsq.tls_cert_file", "must be set with nsq.tls_key_file")
	}
	if strings.ContainsAny(n.TLSServerName, " /:") {
		bad("nsq.tls_server_name", "must be a host name, got %q", n.TLSServerName)
	}
	for _, f := range []struct{ field, path string }{
		{"nsq.tls_ca_file", n.TLSCAFile}, {"nsq.tls_cert_file", n.TLSCertFile},
		{"nsq.tls_key_file", n.TLSKeyFile}, {"nsq.auth_secret_file", n.AuthSecretFile},
	} {
		if err := readable(f.path); err != nil {
			bad(f.field, "%v", err)
		}
	}
	return errors.Join(errs...)
}

// readable checks that path, if set, is a regular file this process can open.
func readable(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot open: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
