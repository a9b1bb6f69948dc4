package config_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// newClient starts a client of app "shop" on servers with a backup dir of
// its own and no agent dir unless opts say otherwise.
func newClient(t *testing.T, o config.Options) (*config.Client, error) {
	t.Helper()
	if o.AppID == "" {
		o.AppID = "shop"
	}
	if o.BackupDir == "" {
		o.BackupDir = t.TempDir()
	}
	if o.ConfigDir == "" {
		o.ConfigDir = config.NoDir
	}
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	c, err := config.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c, c.Start(ctx)
}

func TestStartReadsTypedValues(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "")
	s.publish("application", map[string]string{
		"name": "shop", "port": "8080", "debug": "true", "ratio": "0.25", "timeout": "1.5s",
		"limits": `{"rps": 100, "burst": 20}`, "bad.int": "eight",
	})
	s.publish("db.yaml", map[string]string{"content": "host: db\nport: 5432\n"})
	c, err := newClient(t, config.Options{Servers: []string{s.srv.URL}, Namespaces: []string{"application", "db.yaml"},
		IP: "10.0.0.7", Label: "canary", InstanceID: "host-1.shop.8080"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if q := s.log("/configs/")[0].URL.Query(); q.Get("ip") != "10.0.0.7" || q.Get("label") != "canary" || q.Get("instanceId") != "host-1.shop.8080" {
		t.Errorf("the fetch identified the client as %v", q)
	}
	ns := c.Namespace("application")
	if got := ns.String("name", ""); got != "shop" {
		t.Errorf("String = %q", got)
	}
	if got := ns.Int("port", 0); got != 8080 {
		t.Errorf("Int = %d", got)
	}
	if got := ns.Int("bad.int", 7); got != 7 {
		t.Errorf("Int of a non-number = %d, want the default", got)
	}
	if got := ns.Int("missing", 9); got != 9 {
		t.Errorf("Int of a missing key = %d, want the default", got)
	}
	if !ns.Bool("debug", false) || ns.Float("ratio", 0) != 0.25 || ns.Duration("timeout", 0) != 1500*time.Millisecond {
		t.Errorf("Bool/Float/Duration = %v %v %v", ns.Bool("debug", false), ns.Float("ratio", 0), ns.Duration("timeout", 0))
	}
	var lim struct{ RPS, Burst int }
	if err := ns.JSON("limits", &lim); err != nil || lim.RPS != 100 || lim.Burst != 20 {
		t.Errorf("JSON = %+v, %v", lim, err)
	}
	if err := ns.JSON("name", &lim); err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("JSON of a non-JSON value: %v, want an error naming the key", err)
	}
	if ns.ReleaseKey() != "rk-1" || ns.Source() != config.SourceServer {
		t.Errorf("release key %q source %q", ns.ReleaseKey(), ns.Source())
	}
	if got := c.Namespace("db.yaml").Content(); got != "host: db\nport: 5432\n" {
		t.Errorf("Content = %q", got)
	}
	var none *config.Namespace = c.Namespace("not-mine")
	if none.String("name", "def") != "def" || none.Keys() != nil {
		t.Errorf("a namespace the client does not keep must read as empty")
	}
}

func TestPublishArrivesByLongPollWithOldAndNewValues(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "")
	s.publish("application", map[string]string{"a": "1", "b": "2", "gone": "x"})
	events := make(chan config.ChangeEvent, 4)
	o := config.Options{Servers: []string{s.srv.URL}}
	c, err := config.New(withTestDefaults(t, o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.OnChange(func(ev config.ChangeEvent) { events <- ev })
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := s.heldPolls(); n != 1 {
			return fmt.Errorf("%d polls held", n)
		}
		return nil
	})
	s.publish("application", map[string]string{"a": "1", "b": "3", "new": "y"})
	var ev config.ChangeEvent
	select {
	case ev = <-events:
	case <-time.After(10 * time.Second):
		t.Fatal("no change event after a publish")
	}
	want := []config.Change{
		{Key: "b", Old: "2", New: "3", Type: config.Modified},
		{Key: "gone", Old: "x", Type: config.Deleted},
		{Key: "new", New: "y", Type: config.Added},
	}
	if ev.Namespace != "application" || ev.ReleaseKey != "rk-2" || fmt.Sprint(ev.Changes) != fmt.Sprint(want) {
		t.Fatalf("event = %+v, want changes %v", ev, want)
	}
	if got := c.Namespace("application").String("b", ""); got != "3" {
		t.Errorf("b = %q after the event", got)
	}
	// The fetch after the notification carried the notification back
	// (read-your-notification) and the release key it had.
	fetches := s.log("/configs/")
	last := fetches[len(fetches)-1].URL.Query()
	if last.Get("releaseKey") != "rk-1" || last.Get("messages") != `{"details":{"shop+default+application":2}}` {
		t.Errorf("fetch after the notification sent releaseKey=%q messages=%q", last.Get("releaseKey"), last.Get("messages"))
	}
	// The next poll says it has seen notification 2.
	testenv.Eventually(t, 10*time.Second, func() error {
		polls := s.log("/notifications/v2")
		q := polls[len(polls)-1].URL.Query()
		if got := q.Get("notifications"); got != `[{"namespaceName":"application","notificationId":2}]` || q.Get("appId") != "shop" || q.Get("cluster") != "default" {
			return fmt.Errorf("last poll %s", polls[len(polls)-1].URL.RawQuery)
		}
		return nil
	})
}

// withTestDefaults fills o as newClient does, without starting.
func withTestDefaults(t *testing.T, o config.Options) config.Options {
	if o.AppID == "" {
		o.AppID = "shop"
	}
	if o.BackupDir == "" {
		o.BackupDir = t.TempDir()
	}
	if o.ConfigDir == "" {
		o.ConfigDir = config.NoDir
	}
	o.MinBackoff, o.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	return o
}

func TestSignedRequests(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "s3cret")
	s.publish("application", map[string]string{"k": "v"})
	c, err := newClient(t, config.Options{Servers: []string{s.srv.URL}, Secret: "s3cret"})
	if err != nil || c.Namespace("application").String("k", "") != "v" {
		t.Fatalf("Start with the right secret: %v", err)
	}
	r := s.log("/configs/")[0]
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Apollo shop:") || r.Header.Get("Timestamp") == "" {
		t.Errorf("headers %v", r.Header)
	}
	_, err = newClient(t, config.Options{Servers: []string{s.srv.URL}, Secret: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Start with a wrong secret: %v, want a 401 without the secret", err)
	}
}

// TestSignatureMatchesApollo checks the signature against a value worked
// out by hand from Apollo's definition (HMAC-SHA1, base64 over
// "timestamp\npathWithQuery").
func TestSignatureMatchesApollo(t *testing.T) {
	t.Parallel()
	// printf '1576478257344\n/configs/100004458/default/application?ip=10.0.0.1' | openssl dgst -sha1 -hmac df23df3f59884980844ff3dada30fa97 -binary | base64
	got := config.Signature("1576478257344", "/configs/100004458/default/application?ip=10.0.0.1", "df23df3f59884980844ff3dada30fa97")
	if got != signatureFromOpenSSL {
		t.Errorf("Signature = %q, want %q", got, signatureFromOpenSSL)
	}
}

func TestWithWharfStoppedStartsFromItsBackupFile(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "")
	s.publish("application", map[string]string{"greeting": "hello"})
	backup := t.TempDir()
	c, err := newClient(t, config.Options{Servers: []string{s.srv.URL}, BackupDir: backup})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	url := s.srv.URL
	s.close()

	c2, err := newClient(t, config.Options{Servers: []string{url}, BackupDir: backup})
	if err != nil {
		t.Fatalf("Start with Wharf stopped and a backup: %v", err)
	}
	ns := c2.Namespace("application")
	if ns.String("greeting", "") != "hello" || ns.Source() != config.SourceBackup || ns.ReleaseKey() != "rk-1" {
		t.Errorf("from backup: %v source %q key %q", ns.All(), ns.Source(), ns.ReleaseKey())
	}
	// Without a backup it says which namespace it could not load.
	_, err = newClient(t, config.Options{Servers: []string{url}})
	if err == nil || !strings.Contains(err.Error(), "application") {
		t.Errorf("Start with Wharf stopped and nothing on disk: %v, want an error naming the namespace", err)
	}
}

func TestAgentFileComesBeforeTheBackup(t *testing.T) {
	t.Parallel()
	dead := deadURL(t)
	agentDir, backup := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(agentDir, "application.properties"), []byte("# from the agent\nk = agent value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(backup, "shop+default+application.json"), []byte(`{"configurations":{"k":"backup"},"releaseKey":"old"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := newClient(t, config.Options{Servers: []string{dead}, ConfigDir: agentDir, BackupDir: backup})
	if err != nil {
		t.Fatal(err)
	}
	if ns := c.Namespace("application"); ns.String("k", "") != "agent value" || ns.Source() != config.SourceAgent {
		t.Errorf("got %v from %q, want the agent's file", ns.All(), ns.Source())
	}
}

func TestWhenTheServerComesBackTheFileValuesAreReplaced(t *testing.T) {
	t.Parallel()
	agentDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(agentDir, "application.properties"), []byte("k=old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newApolloServer(t, "shop", "")
	s.mu.Lock()
	s.failPoll = true
	s.mu.Unlock()
	// No release yet: /configs answers 404, Start takes the file's values.
	c, err := newClient(t, config.Options{Servers: []string{s.srv.URL}, ConfigDir: agentDir})
	if err != nil {
		t.Fatal(err)
	}
	if ns := c.Namespace("application"); ns.String("k", "") != "old" || ns.Source() != config.SourceAgent {
		t.Fatalf("got %v from %q, want the agent's file", ns.All(), ns.Source())
	}
	s.mu.Lock()
	s.failPoll = false
	s.mu.Unlock()
	s.publish("application", map[string]string{"k": "new"})
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := c.Namespace("application").String("k", ""); got != "new" {
			return fmt.Errorf("k = %q", got)
		}
		return nil
	})
}

func TestSecondServerWhenTheFirstIsDown(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "")
	s.publish("application", map[string]string{"k": "v"})
	c, err := newClient(t, config.Options{Servers: []string{deadURL(t), s.srv.URL}})
	if err != nil || c.Namespace("application").String("k", "") != "v" {
		t.Fatalf("Start: %v", err)
	}
}

func TestDiscoverUsesTheServiceNodes(t *testing.T) {
	t.Parallel()
	s := newApolloServer(t, "shop", "")
	s.publish("application", map[string]string{"k": "v"})
	// The configured URL has a path the service does not answer on; the
	// node list names the right one.
	c, err := newClient(t, config.Options{Servers: []string{s.srv.URL}, Discover: true})
	if err != nil || c.Namespace("application").String("k", "") != "v" {
		t.Fatalf("Start: %v", err)
	}
	if got := s.log("/services/config"); len(got) != 1 || got[0].URL.Query().Get("appId") != "shop" {
		t.Errorf("service discovery requests: %d", len(got))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []config.Options{
		{Servers: []string{"http://x"}},
		{AppID: "shop"},
		{AppID: "shop", Servers: []string{"x:80"}},
		{AppID: "shop", Servers: []string{"http://x"}, Namespaces: []string{"a", "a"}},
	} {
		if _, err := config.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

// deadURL is a loopback URL nothing listens on.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "http", Host: l.Addr().String()}
	_ = l.Close()
	return u.String()
}

// signatureFromOpenSSL is the output of the openssl line in
// TestSignatureMatchesApollo.
const signatureFromOpenSSL = "EoKyziXvKqzHgwx+ijDJwgVTDgE="
