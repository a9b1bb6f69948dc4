package config_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// heldPoll sends a poll in the background; its answer arrives on the channel.
type pollAnswer struct {
	status int
	body   []config.ApolloNotification
	err    error
}

func (s *server) startPoll(t *testing.T, path string, hdr map[string]string) <-chan pollAnswer {
	t.Helper()
	out := make(chan pollAnswer, 1)
	go func() {
		req, err := http.NewRequest("GET", "http://"+s.addr+path, nil)
		if err != nil {
			out <- pollAnswer{err: err}
			return
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		c := &http.Client{Timeout: 90 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			out <- pollAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := pollAnswer{status: resp.StatusCode}
		if resp.StatusCode == 200 {
			a.err = json.Unmarshal(b, &a.body)
		}
		out <- a
	}()
	return out
}

func bearer(s *server, who string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + s.tokens[who]}
}

// waitHeld waits until n polls are held on s.
func waitHeld(t *testing.T, s *server, n int) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		if h := s.fn.HeldPolls(); h < n {
			return fmt.Errorf("%d polls held, want %d", h, n)
		}
		return nil
	})
}

// TestApolloProtocol drives the client protocol as an Apollo client does:
// the first notifications poll with id -1, /configs, 304 with the release
// key, a poll held until a publish, a rollback seen by the client.
func TestApolloProtocol(t *testing.T) {
	s := newServer(t)
	// Nothing released: /configs is 404, a poll with -1 is held.
	s.setItems(t, "default", "application", "db.url", "jdbc:one", "timeout", "30")
	if r := s.do(t, "GET", "/configs/shop/default/application", "team", ""); r.Status != 404 {
		t.Fatalf("unreleased namespace: %d %s", r.Status, r.Body)
	}
	// The namespace exists (its head was created): the -1 poll answers at once.
	first := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": -1}), bearer(s, "team"))
	if first.err != nil || first.status != 200 || len(first.body) != 1 || first.body[0].NamespaceName != "application" || first.body[0].NotificationID <= 0 {
		t.Fatalf("first poll: %+v", first)
	}
	rel := s.publish(t, "default", "application", "first")
	r := s.must(t, 200, "GET", "/configs/shop/default/application?ip=10.0.0.1", "team", "")
	cfg := decode[config.ApolloConfig](t, r)
	if cfg.AppID != "shop" || cfg.Cluster != "default" || cfg.NamespaceName != "application" || cfg.Configurations["db.url"] != "jdbc:one" || cfg.ReleaseKey != rel["release_key"] {
		t.Fatalf("/configs = %+v, release %v", cfg, rel)
	}
	// Apollo's raw body has exactly its five fields.
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	if len(raw) != 5 {
		t.Fatalf("/configs body has %d fields: %s", len(raw), r.Body)
	}
	// The ".properties" name is the same namespace, answered under the name asked.
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application.properties", "team", "")); c.NamespaceName != "application.properties" || c.ReleaseKey != cfg.ReleaseKey {
		t.Fatalf("application.properties: %+v", c)
	}
	s.must(t, 304, "GET", "/configs/shop/default/application?releaseKey="+url.QueryEscape(cfg.ReleaseKey), "team", "")
	// An unknown cluster falls back to default.
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/room-b/application", "team", "")); c.ReleaseKey != cfg.ReleaseKey || c.Cluster != "default" {
		t.Fatalf("cluster fallback: %+v", c)
	}

	// The client polls with the id it knows: held; a publish answers it.
	known := first.body[0].NotificationID
	now := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": known}), bearer(s, "team"))
	if now.status != 200 || now.body[0].NotificationID <= known {
		t.Fatalf("poll after publish with the old id: %+v", now)
	}
	known = now.body[0].NotificationID
	held := s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": known}), bearer(s, "team"))
	waitHeld(t, s, 1)
	s.setItems(t, "default", "application", "timeout", "60")
	select {
	case a := <-held:
		t.Fatalf("a draft edit answered the poll: %+v", a)
	default:
	}
	s.publish(t, "default", "application", "second")
	a := <-held
	if a.err != nil || a.status != 200 || a.body[0].NotificationID <= known {
		t.Fatalf("held poll after publish: %+v", a)
	}
	msgs, _ := json.Marshal(a.body[0].Messages)
	c2 := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application?releaseKey="+url.QueryEscape(cfg.ReleaseKey)+"&messages="+url.QueryEscape(string(msgs)), "team", ""))
	if c2.Configurations["timeout"] != "60" {
		t.Fatalf("after the second publish: %+v", c2)
	}
	if a.body[0].Messages.Details["shop+default+application"] != a.body[0].NotificationID {
		t.Fatalf("messages: %+v", a.body[0].Messages)
	}

	// Rollback: clients read the first release again, the draft stays.
	known = a.body[0].NotificationID
	held = s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": known}), bearer(s, "team"))
	waitHeld(t, s, 1)
	s.must(t, 200, "POST", nsURL("default", "application")+"/rollback", "team", `{"comment":"bad timeout"}`)
	if a := <-held; a.status != 200 {
		t.Fatalf("poll after rollback: %+v", a)
	}
	c3 := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application", "team", ""))
	if c3.ReleaseKey != cfg.ReleaseKey || c3.Configurations["timeout"] != "30" {
		t.Fatalf("after rollback: %+v", c3)
	}
	view := decode[config.NamespaceView](t, s.must(t, 200, "GET", nsURL("default", "application"), "team", ""))
	if view.Draft.Items["timeout"] != "60" {
		t.Fatalf("rollback changed the draft: %+v", view.Draft)
	}
	// History and diff.
	hist := decode[config.ReleaseList](t, s.must(t, 200, "GET", nsURL("default", "application")+"/releases", "team", ""))
	if len(hist.Releases) != 2 || hist.Main != 1 || hist.Releases[0].Diff[0].Key != "timeout" {
		t.Fatalf("history: %+v", hist)
	}
	d := decode[config.DiffView](t, s.must(t, 200, "GET", nsURL("default", "application")+"/diff?from=1&to=2", "team", ""))
	if len(d.Changes) != 1 || d.Changes[0].Old != "30" || d.Changes[0].New != "60" {
		t.Fatalf("diff: %+v", d)
	}
	// The file forms.
	if r := s.must(t, 200, "GET", "/configfiles/json/shop/default/application", "team", ""); !strings.Contains(r.String(), `"db.url":"jdbc:one"`) {
		t.Fatalf("configfiles/json: %s", r.Body)
	}
	if r := s.must(t, 200, "GET", "/configfiles/shop/default/application", "team", ""); r.String() != "db.url=jdbc\\:one\ntimeout=30\n" && r.String() != "db.url=jdbc:one\ntimeout=30\n" {
		t.Fatalf("configfiles: %q", r.Body)
	}
	// Audit: who did what.
	audit := decode[config.AuditList](t, s.must(t, 200, "GET", "/api/v1/config/apps/shop/audit", "team", ""))
	if len(audit.Entries) < 5 || audit.Entries[0].Action != "rollback" || audit.Entries[0].By != "team" {
		t.Fatalf("audit: %+v", audit.Entries)
	}
}

// TestPollTimeout: a held poll without a change answers 304 after the
// timeout.
func TestPollTimeout(t *testing.T) {
	s := newServer(t, func(o *config.Options) { o.PollTimeout = 300 * time.Millisecond })
	s.setItems(t, "default", "application", "a", "1")
	first := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": -1}), bearer(s, "team"))
	a := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": first.body[0].NotificationID}), bearer(s, "team"))
	if a.status != 304 {
		t.Fatalf("idle poll: %+v", a)
	}
	// A namespace that does not exist is held too (ids start at -1).
	if a := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"nothing.json": -1}), bearer(s, "team")); a.status != 304 {
		t.Fatalf("poll of a missing namespace: %+v", a)
	}
}
