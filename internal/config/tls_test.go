package config

import (
	"strings"
	"testing"
	"time"
)

func TestGatewayTLSFromFileEnvAndFlags(t *testing.T) {
	file := `gateway:
  listen: ":8080"
  tls:
    listen: ":8443"
    cert_files: [/etc/wharf/a.crt, /etc/wharf/b.crt]
    key_files: [/etc/wharf/a.key, /etc/wharf/b.key]
    min_version: "1.3"
    redirect_http: true
    reload_check_every: 30s
`
	o, err := load(t, nil, nil, file)
	if err != nil {
		t.Fatal(err)
	}
	tl := o.Gateway.TLS
	if tl.Listen != ":8443" || len(tl.CertFiles) != 2 || tl.KeyFiles[1] != "/etc/wharf/b.key" || tl.MinVersion != "1.3" ||
		!tl.RedirectHTTP || tl.CheckEvery != 30*time.Second {
		t.Fatalf("from file: %+v", tl)
	}
	o, err = load(t, []string{"--gateway-tls-listen", ":9443", "--gateway-tls-redirect-http=false", "--gateway-listen="},
		[]string{"WHARF_GATEWAY_TLS_CERT_FILES=/x.crt", "WHARF_GATEWAY_TLS_KEY_FILES=/x.key", "WHARF_GATEWAY_TLS_MIN_VERSION=1.2"}, file)
	if err != nil {
		t.Fatal(err)
	}
	tl = o.Gateway.TLS
	if tl.Listen != ":9443" || tl.RedirectHTTP || len(tl.CertFiles) != 1 || tl.KeyFiles[0] != "/x.key" || tl.MinVersion != "1.2" || o.Gateway.Listen != "" {
		t.Fatalf("env and flags: %+v listen %q", tl, o.Gateway.Listen)
	}
	if d := Defaults().Gateway.TLS; d.Listen != "" || d.MinVersion != "1.2" || d.CheckEvery != 10*time.Second {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestGatewayTLSValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		field string
	}{
		{"no certificate", []string{"--gateway-tls-listen", ":8443"}, "gateway.tls.cert_files"},
		{"unpaired", []string{"--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a,b", "--gateway-tls-key-files", "a"}, "gateway.tls.key_files"},
		{"old version", []string{"--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a", "--gateway-tls-min-version", "1.1"}, "gateway.tls.min_version"},
		{"bad address", []string{"--gateway-tls-listen", "8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a"}, "gateway.tls.listen"},
		{"certs without listener", []string{"--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a"}, "gateway.tls.listen"},
		{"redirect without TLS", []string{"--gateway-tls-redirect-http"}, "gateway.tls.redirect_http"},
		{"no listener at all", []string{"--gateway-listen="}, "gateway.listen"},
		{"redirect without plain listener", []string{"--gateway-listen=", "--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a", "--gateway-tls-redirect-http"}, "gateway.tls.redirect_http"},
		{"bad redirect port", []string{"--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a", "--gateway-tls-redirect-port", "70000"}, "gateway.tls.redirect_port"},
		{"bad check interval", []string{"--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a", "--gateway-tls-reload-check-every", "0s"}, "gateway.tls.reload_check_every"},
	} {
		_, err := load(t, tc.args, nil, "")
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.field)
		}
	}
	if _, err := load(t, []string{"--gateway-listen=", "--gateway-tls-listen", ":8443", "--gateway-tls-cert-files", "a", "--gateway-tls-key-files", "a"}, nil, ""); err != nil {
		t.Errorf("HTTPS only: %v", err)
	}
}
