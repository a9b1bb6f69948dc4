package bus

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// tlsNSQD starts nsqd with a certificate for names from ca, requiring TLS,
// plus extra flags.
func tlsNSQD(t *testing.T, ca *testenv.CA, names []string, extra ...string) *testenv.NSQD {
	t.Helper()
	cert, key := ca.Server(t, "nsqd", names...)
	args := append([]string{"--tls-cert", cert, "--tls-key", key, "--tls-required=true", "--tls-min-version=tls1.2"}, extra...)
	return testenv.StartNSQD(t, testenv.NSQDOptions{Args: args})
}

func loadSecurity(t *testing.T, o SecurityOptions) *Security {
	t.Helper()
	s, err := LoadSecurity(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secureProducer(t *testing.T, addr string, s *Security) *Producer {
	t.Helper()
	p, err := NewProducer(ProducerOptions{Addrs: []string{addr}, Security: s, PublishTimeout: 5 * time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// publishFails publishes with a fresh producer and returns the error it must get.
func publishFails(t *testing.T, addr string, s *Security) error {
	t.Helper()
	err := secureProducer(t, addr, s).Publish(context.Background(), "sec-refused", []byte("x"))
	if err == nil {
		t.Fatal("publish succeeded, want an error")
	}
	return err
}

// roundTrip publishes body with s and waits for a consumer using s to get it.
func roundTrip(t *testing.T, addr string, s *Security, topic string) {
	t.Helper()
	if err := secureProducer(t, addr, s).Publish(context.Background(), topic, []byte("hello")); err != nil {
		t.Fatalf("publish over a secured connection: %v", err)
	}
	got := make(chan string, 1)
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{addr}, Security: s,
		Handler: func(_ context.Context, m *Message) error {
			select {
			case got <- string(m.Body):
			default:
			}
			return nil
		},
	})
	select {
	case b := <-got:
		if b != "hello" {
			t.Fatalf("consumed %q, want hello", b)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the secured consumer got no message")
	}
}

func TestSecurityTLSRequired(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	n := tlsNSQD(t, ca, []string{"127.0.0.1"})

	t.Run("plain client is refused", func(t *testing.T) {
		err := publishFails(t, n.Addr, nil)
		if !strings.Contains(err.Error(), "TLS required") {
			t.Fatalf("plain publish error %q does not say TLS is required", err)
		}
	})
	t.Run("plain client fails Ping", func(t *testing.T) {
		// A readiness check must not report a producer ready whose every
		// publish will be refused.
		err := secureProducer(t, n.Addr, nil).Ping(context.Background())
		if err == nil || !strings.Contains(err.Error(), "TLS required") {
			t.Fatalf("Ping of a plain producer on a TLS-only nsqd = %v, want an error saying TLS is required", err)
		}
		if err := secureProducer(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile})).Ping(context.Background()); err != nil {
			t.Fatalf("Ping over TLS: %v", err)
		}
	})
	t.Run("TLS with the CA publishes and consumes", func(t *testing.T) {
		roundTrip(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile}), testTopic(t, "ok"))
	})
	t.Run("wrong CA is refused", func(t *testing.T) {
		other := testenv.NewCA(t, "some other CA")
		err := publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: other.CertFile}))
		if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("wrong-CA error %q does not name the certificate problem", err)
		}
	})
	t.Run("system roots do not trust a private CA", func(t *testing.T) {
		err := publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true}))
		if !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %q does not name the certificate problem", err)
		}
	})
}

func TestSecurityServerName(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	n := tlsNSQD(t, ca, []string{"nsq1.internal"})

	// The certificate does not name 127.0.0.1: verification by address fails...
	err := publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile}))
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("error %q does not say the certificate is not for the address", err)
	}
	// ...a wrong server name fails too, even with the right CA...
	err = publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, ServerName: "nsq2.internal"}))
	if !strings.Contains(err.Error(), "nsq2.internal") {
		t.Fatalf("error %q does not name the expected server name", err)
	}
	// ...the right name with another CA is refused...
	other := testenv.NewCA(t, "some other CA")
	err = publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: other.CertFile, ServerName: "nsq1.internal"}))
	if !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("error %q does not name the unknown authority", err)
	}
	// ...and the configured name with the right CA works.
	roundTrip(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, ServerName: "nsq1.internal"}), testTopic(t, "sni"))
}

func TestSecurityClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	n := tlsNSQD(t, ca, []string{"127.0.0.1"}, "--tls-client-auth-policy=require-verify", "--tls-root-ca-file", ca.CertFile)

	if err := publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile})); err == nil {
		t.Fatal("unreachable")
	}
	other := testenv.NewCA(t, "some other CA")
	oc, ok := other.Client(t, "intruder", "intruder")
	if err := publishFails(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, CertFile: oc, KeyFile: ok})); err == nil {
		t.Fatal("unreachable")
	}
	cert, key := ca.Client(t, "judge", "judge-1")
	roundTrip(t, n.Addr, loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, CertFile: cert, KeyFile: key}), testTopic(t, "mtls"))
}

// authServer answers nsqd's auth protocol: the one secret gets every
// topic and channel, anything else 403. It records the tls flags it saw.
type authServer struct {
	secret string
	mu     sync.Mutex
	tls    []string
}

func (a *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	a.tls = append(a.tls, q.Get("tls"))
	a.mu.Unlock()
	if r.URL.Path != "/auth" || q.Get("secret") != a.secret {
		http.Error(w, `{"message":"NOT_AUTHORIZED"}`, http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ttl":3600,"identity":"wharf-test","authorizations":[{"topic":".*","channels":[".*"],"permissions":["subscribe","publish"]}]}`)
}

func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nsq.secret")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSecurityAuthSecret(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	as := &authServer{secret: "s3cr3t-for-nsq"}
	srv := httptest.NewServer(as)
	t.Cleanup(srv.Close)
	n := tlsNSQD(t, ca, []string{"127.0.0.1"}, "--auth-http-address", strings.TrimPrefix(srv.URL, "http://"))

	tlsOnly := loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile})
	if err := publishFails(t, n.Addr, tlsOnly); !strings.Contains(err.Error(), "Auth Required") {
		t.Fatalf("publish without a secret: %v, want Auth Required", err)
	}
	wrong := loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, AuthSecretFile: writeSecret(t, "guess")})
	if err := publishFails(t, n.Addr, wrong); !strings.Contains(err.Error(), "AUTH failed") {
		t.Fatalf("publish with a wrong secret: %v, want AUTH failed", err)
	}
	right := loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, AuthSecretFile: writeSecret(t, as.secret)})
	roundTrip(t, n.Addr, right, testTopic(t, "auth"))
	as.mu.Lock()
	defer as.mu.Unlock()
	for _, v := range as.tls {
		if v != "true" {
			t.Fatalf("nsqd asked the auth server with tls=%q: the secret crossed a plain connection", v)
		}
	}
}

// TestSecurityLookupdGetsNoSecret: go-nsq's default sends the AUTH secret
// to nsqlookupd as a bearer token over plain HTTP; Wharf's consumer must not.
func TestSecurityLookupdGetsNoSecret(t *testing.T) {
	lookupd := testenv.StartNSQLookupd(t)
	as := &authServer{secret: "lookupd-must-not-see-this"}
	auth := httptest.NewServer(as)
	t.Cleanup(auth.Close)
	n := testenv.StartNSQD(t, testenv.NSQDOptions{
		LookupdTCPAddrs: []string{lookupd.Addr},
		Args:            []string{"--auth-http-address", strings.TrimPrefix(auth.URL, "http://")},
	})
	target, err := url.Parse("http://" + lookupd.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var leaked []string
	var queries int
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries++
		for _, v := range r.Header.Values("Authorization") {
			leaked = append(leaked, v)
		}
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)

	s := loadSecurity(t, SecurityOptions{AuthSecretFile: writeSecret(t, as.secret)})
	topic := testTopic(t, "lk")
	if err := secureProducer(t, n.Addr, s).Publish(context.Background(), topic, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", LookupdHTTPAddrs: []string{strings.TrimPrefix(rec.URL, "http://")}, Security: s,
		Handler: func(context.Context, *Message) error {
			select {
			case got <- struct{}{}:
			default:
			}
			return nil
		},
	})
	select {
	case <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer found no message through nsqlookupd")
	}
	mu.Lock()
	defer mu.Unlock()
	if queries == 0 {
		t.Fatal("the consumer never asked nsqlookupd")
	}
	if len(leaked) > 0 {
		t.Fatalf("nsqlookupd was sent Authorization %q (the nsqd AUTH secret in clear)", leaked)
	}
}

func TestLoadSecurityRefusesBadOptions(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	cert, key := ca.Client(t, "c", "c")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	notPEM := filepath.Join(dir, "not.pem")
	twoLines := filepath.Join(dir, "two")
	for f, b := range map[string]string{empty: " \n", notPEM: "hello", twoLines: "a\nb\n"} {
		if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		o    SecurityOptions
		want string
	}{
		{"CA without TLS", SecurityOptions{CAFile: ca.CertFile}, "TLS is off"},
		{"server name without TLS", SecurityOptions{ServerName: "x"}, "TLS is off"},
		{"cert without key", SecurityOptions{TLS: true, CertFile: cert}, "together"},
		{"key without cert", SecurityOptions{TLS: true, KeyFile: key}, "together"},
		{"cert and key swapped", SecurityOptions{TLS: true, CertFile: key, KeyFile: cert}, "client certificate"},
		{"missing CA", SecurityOptions{TLS: true, CAFile: filepath.Join(dir, "nope")}, "no such file"},
		{"CA not PEM", SecurityOptions{TLS: true, CAFile: notPEM}, "no PEM certificate"},
		{"missing secret", SecurityOptions{AuthSecretFile: filepath.Join(dir, "nope")}, "no such file"},
		{"empty secret", SecurityOptions{AuthSecretFile: empty}, "empty"},
		{"two-line secret", SecurityOptions{AuthSecretFile: twoLines}, "one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSecurity(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadSecurity = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSecurityNeverPrintsTheSecret(t *testing.T) {
	s := loadSecurity(t, SecurityOptions{AuthSecretFile: writeSecret(t, "do-not-print-me")})
	var logged strings.Builder
	log := slogTo(&logged)
	log.Info("bus", "security", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logged.String()} {
		if strings.Contains(out, "do-not-print-me") {
			t.Fatalf("the secret was printed: %s", out)
		}
	}
	if !s.Auth() || s.TLS() {
		t.Fatalf("Auth()=%t TLS()=%t, want true false", s.Auth(), s.TLS())
	}
	var nilSec *Security
	if nilSec.Auth() || nilSec.TLS() {
		t.Fatal("nil Security is not plain")
	}
}

func slogTo(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// TestSecurityConsumerRefusalIsLogged: a consumer nsqd refuses keeps
// retrying in the background and says why in its log, without crashing.
func TestSecurityConsumerRefusalIsLogged(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	n := tlsNSQD(t, ca, []string{"127.0.0.1"})
	other := testenv.NewCA(t, "some other CA")
	for _, tc := range []struct {
		name string
		sec  *Security
		want string
	}{
		{"plain", nil, "TLS required"},
		{"wrong CA", loadSecurity(t, SecurityOptions{TLS: true, CAFile: other.CertFile}), "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			var mu sync.Mutex
			log := slog.New(slog.NewTextHandler(lockedWriter{w: &logs, mu: &mu}, nil))
			startConsumer(t, ConsumerOptions{
				Topic: testTopic(t, "refused"), Channel: "c", NSQDAddrs: []string{n.Addr}, Security: tc.sec, Logger: log,
				Handler: func(context.Context, *Message) error { return nil },
			})
			testenv.Eventually(t, 10*time.Second, func() error {
				mu.Lock()
				defer mu.Unlock()
				if !strings.Contains(logs.String(), tc.want) {
					return fmt.Errorf("log does not say %q yet: %s", tc.want, logs.String())
				}
				return nil
			})
		})
	}
}

// TestSecurityDeadLettersOverTLS: the dead-letter producers a consumer
// makes for itself use its TLS and secret; plain ones would be refused
// and the failed message would go round forever instead of dead-lettering.
func TestSecurityDeadLettersOverTLS(t *testing.T) {
	ca := testenv.NewCA(t, "wharf nsq test CA")
	as := &authServer{secret: "dead-letter-secret"}
	srv := httptest.NewServer(as)
	t.Cleanup(srv.Close)
	n := tlsNSQD(t, ca, []string{"127.0.0.1"}, "--auth-http-address", strings.TrimPrefix(srv.URL, "http://"))
	s := loadSecurity(t, SecurityOptions{TLS: true, CAFile: ca.CertFile, AuthSecretFile: writeSecret(t, as.secret)})
	topic := testTopic(t, "dl")
	if err := secureProducer(t, n.Addr, s).Publish(context.Background(), topic, []byte("poison")); err != nil {
		t.Fatal(err)
	}
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, Security: s, MaxAttempts: 1,
		Handler: func(context.Context, *Message) error { return fmt.Errorf("always fails") },
	})
	dead := make(chan DeadLetter, 1)
	startConsumer(t, ConsumerOptions{
		Topic: DeadLetterTopic(topic), Channel: "c", NSQDAddrs: []string{n.Addr}, Security: s,
		Handler: func(_ context.Context, m *Message) error {
			d, err := DecodeDeadLetter(m.Body)
			if err != nil {
				return err
			}
			select {
			case dead <- d:
			default:
			}
			return nil
		},
	})
	select {
	case d := <-dead:
		if string(d.Body) != "poison" || d.Topic != topic {
			t.Fatalf("dead letter %+v", d)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the failed message was not dead-lettered over TLS")
	}
}
