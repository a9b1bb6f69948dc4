package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNSQSecurityFromFileEnvAndFlags(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"ca.crt", "c.crt", "c.key", "secret", "other.crt"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		files[n] = p
	}
	file := "nsq:\n  tls: true\n  tls_ca_file: " + files["ca.crt"] + "\n  tls_cert_file: " + files["c.crt"] +
		"\n  tls_key_file: " + files["c.key"] + "\n  tls_server_name: nsq1.internal\n  auth_secret_file: " + files["secret"] + "\n"
	o, err := load(t, nil, nil, file)
	if err != nil {
		t.Fatal(err)
	}
	n := o.NSQ
	if !n.TLS || n.TLSCAFile != files["ca.crt"] || n.TLSCertFile != files["c.crt"] || n.TLSKeyFile != files["c.key"] ||
		n.TLSServerName != "nsq1.internal" || n.AuthSecretFile != files["secret"] || !n.Secured() {
		t.Fatalf("from file: %+v", n)
	}
	o, err = load(t, []string{"--nsq-tls-server-name", "nsq2.internal"},
		[]string{"WHARF_NSQ_TLS_CA_FILE=" + files["other.crt"]}, file)
	if err != nil {
		t.Fatal(err)
	}
	if o.NSQ.TLSServerName != "nsq2.internal" || o.NSQ.TLSCAFile != files["other.crt"] {
		t.Fatalf("env and flags: %+v", o.NSQ)
	}
	o, err = load(t, []string{"--nsq-tls", "--nsq-auth-secret-file", files["secret"]}, nil, "")
	if err != nil || !o.NSQ.TLS || o.NSQ.AuthSecretFile != files["secret"] {
		t.Fatalf("flags: %+v %v", o.NSQ, err)
	}
	if d := Defaults().NSQ; d.Secured() {
		t.Fatalf("defaults must be plain: %+v", d)
	}
}

func TestNSQSecurityValidation(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "c.crt")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"CA without tls", []string{"--nsq-tls-ca-file", cert}, []string{"nsq.tls_ca_file: needs nsq.tls"}},
		{"secret without tls", []string{"--nsq-auth-secret-file", cert}, []string{"nsq.auth_secret_file: needs nsq.tls", "in clear"}},
		{"server name without tls", []string{"--nsq-tls-server-name", "x"}, []string{"nsq.tls_server_name: needs nsq.tls"}},
		{"cert without key", []string{"--nsq-tls", "--nsq-tls-cert-file", cert}, []string{"nsq.tls_key_file: must be set with nsq.tls_cert_file"}},
		{"key without cert", []string{"--nsq-tls", "--nsq-tls-key-file", cert}, []string{"nsq.tls_cert_file: must be set with nsq.tls_key_file"}},
		{"unreadable files", []string{"--nsq-tls", "--nsq-tls-ca-file", missing, "--nsq-auth-secret-file", missing},
			[]string{"nsq.tls_ca_file: cannot open", "nsq.auth_secret_file: cannot open"}},
		{"directory as secret", []string{"--nsq-tls", "--nsq-auth-secret-file", dir}, []string{"nsq.auth_secret_file:", "not a regular file"}},
		{"bad server name", []string{"--nsq-tls", "--nsq-tls-server-name", "nsq1:4150"}, []string{"nsq.tls_server_name: must be a host name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, nil, "")
			if err == nil {
				t.Fatal("loaded, want a validation error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
