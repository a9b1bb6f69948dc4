package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestRolesOnSecuredNSQD runs roles against an nsqd that requires mutual
// TLS and AUTH, configured the way infra/SECURITY-nsq.md says.
func TestRolesOnSecuredNSQD(t *testing.T) {
	const secret = "nsq-secret-e2e-7f3a"
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("secret") != secret {
			http.Error(w, `{"message":"NOT_AUTHORIZED"}`, http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"ttl":3600,"identity":"wharf","authorizations":[{"topic":".*","channels":[".*"],"permissions":["subscribe","publish"]}]}`)
	}))
	t.Cleanup(auth.Close)
	ca := testenv.NewCA(t, "wharf nsq e2e CA")
	srvCert, srvKey := ca.Server(t, "nsqd", "nsq1.internal")
	nsqd := testenv.StartNSQD(t, testenv.NSQDOptions{Args: []string{
		"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-root-ca-file", ca.CertFile,
		"--tls-required=true", "--tls-client-auth-policy=require-verify", "--tls-min-version=tls1.2",
		"--auth-http-address", strings.TrimPrefix(auth.URL, "http://"),
	}})
	redis := testenv.StartRedis(t)
	cert, key := ca.Client(t, "wharf", "wharf-judge")
	dir := t.TempDir()
	secretFile, wrongFile := filepath.Join(dir, "nsq.secret"), filepath.Join(dir, "wrong.secret")
	for f, s := range map[string]string{secretFile: secret + "\n", wrongFile: "guess\n"} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr}
	secured := append(append([]string(nil), base...),
		"WHARF_NSQ_TLS=true", "WHARF_NSQ_TLS_CA_FILE="+ca.CertFile, "WHARF_NSQ_TLS_SERVER_NAME=nsq1.internal",
		"WHARF_NSQ_TLS_CERT_FILE="+cert, "WHARF_NSQ_TLS_KEY_FILE="+key)

	t.Run("refused configurations exit naming the reason", func(t *testing.T) {
		for _, c := range []struct {
			name string
			env  []string
			want string
		}{
			{"plain", base, "Auth Required"},
			{"plain with secret", append(append([]string(nil), base...), "WHARF_NSQ_AUTH_SECRET_FILE="+secretFile), "nsq.auth_secret_file: needs nsq.tls"},
			{"tls without secret", secured, "Auth Required"},
			{"wrong secret", append(secured, "WHARF_NSQ_AUTH_SECRET_FILE="+wrongFile), "AUTH failed"},
			{"no client certificate", append(append([]string(nil), base...), "WHARF_NSQ_TLS=true", "WHARF_NSQ_TLS_CA_FILE="+ca.CertFile,
				"WHARF_NSQ_TLS_SERVER_NAME=nsq1.internal", "WHARF_NSQ_AUTH_SECRET_FILE="+secretFile), "dependency nsqd unreachable"},
			{"key missing", append(append([]string(nil), base...), "WHARF_NSQ_TLS=true", "WHARF_NSQ_TLS_CERT_FILE="+cert), "nsq.tls_key_file"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, errOut, code := runWharf(t, t.TempDir(), c.env, roleArgs("judge")...)
				if code == 0 || !strings.Contains(errOut, c.want) {
					t.Fatalf("want exit != 0 naming %q, got %d: %s", c.want, code, errOut)
				}
				if strings.Contains(errOut, secret) {
					t.Fatalf("the nsq secret is in stderr: %s", errOut)
				}
			})
		}
	})

	t.Run("plain role on a TLS-only nsqd exits instead of reporting ready", func(t *testing.T) {
		tlsOnly := testenv.StartNSQD(t, testenv.NSQDOptions{Args: []string{
			"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-required=true",
		}})
		_, errOut, code := runWharf(t, t.TempDir(), []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + tlsOnly.Addr}, roleArgs("judge")...)
		if code == 0 || !strings.Contains(errOut, "TLS required") || strings.Contains(errOut, "panic") {
			t.Fatalf("want exit != 0 naming TLS required, got %d: %s", code, errOut)
		}
	})

	t.Run("serve refuses nsq security options", func(t *testing.T) {
		_, errOut, code := runWharf(t, t.TempDir(), nil, "serve", "--nsq-tls", "--internal-listen", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0")
		if code == 0 || !strings.Contains(errOut, "nsq.tls") {
			t.Fatalf("want exit != 0 naming nsq.tls, got %d: %s", code, errOut)
		}
	})

	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte("wharf_0000000000000000_00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"judge", "agent"} {
		t.Run(role+" with TLS, client certificate and secret is ready", func(t *testing.T) {
			env := append(append([]string(nil), secured...), "WHARF_NSQ_AUTH_SECRET_FILE="+secretFile)
			// An agent isolating its apps (the default as root) must not leave
			// the secret readable by the users they run as.
			openSecret, wantMode := filepath.Join(t.TempDir(), "nsq.secret"), os.FileMode(0o644)
			if role == "agent" {
				if err := os.WriteFile(openSecret, []byte(secret), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(openSecret, 0o644); err != nil {
					t.Fatal(err)
				}
				if os.Geteuid() == 0 {
					wantMode = 0o600
				}
				env = append(env, "WHARF_NSQ_AUTH_SECRET_FILE="+openSecret,
					"WHARF_AGENT_TOKEN_FILE="+tokenFile, "WHARF_AGENT_SERVER=http://127.0.0.1:9")
			}
			p := startWharf(t, t.TempDir(), env, roleArgs(role)...)
			internal := p.waitFor(reRoleInternal, 30*time.Second)[1]
			testenv.Eventually(t, 10*time.Second, func() error {
				if code, body := ready(t, internal); code != 200 {
					return fmt.Errorf("ready %d %s", code, body)
				}
				return nil
			})
			if code := p.stop(10 * time.Second); code != 0 {
				t.Fatalf("exit %d: %s", code, p.errOut())
			}
			if role == "agent" {
				fi, err := os.Stat(openSecret)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != wantMode {
					t.Fatalf("secret file mode %04o after the agent started, want %04o", fi.Mode().Perm(), wantMode)
				}
			}
			if out := p.out() + p.errOut(); strings.Contains(out, secret) {
				t.Fatalf("the nsq secret is in the output: %s", out)
			}
			if !strings.Contains(p.errOut(), `nsq.tls=true nsq.auth=true`) {
				t.Fatalf("no log line saying the connections are secured: %s", p.errOut())
			}
		})
	}
}
