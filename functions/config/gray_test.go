package config_test

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/functions/config"
)

// grayClients returns the clients of 1,000 that read value "gray" for a.
func grayClients(t *testing.T, s *server) map[int]bool {
	t.Helper()
	in := map[int]bool{}
	for i := range 1000 {
		c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", fmt.Sprintf("/configs/shop/default/application?instanceId=host-%d&ip=10.9.%d.%d", i, i/250, i%250), "team", ""))
		switch c.Configurations["a"] {
		case "gray":
			in[i] = true
		case "main":
		default:
			t.Fatalf("client %d read %+v", i, c)
		}
	}
	return in
}

// TestGrayAcceptance: 1,000 clients, a 10 % rule serves the gray release
// to 10 % ± 2 %; a ramp to 30 % keeps every client that was in; promote
// makes it the main release; abandon sends everybody back to main.
func TestGrayAcceptance(t *testing.T) {
	s := newServer(t)
	ns := nsURL("default", "application")
	s.setItems(t, "default", "application", "a", "main", "b", "kept")
	s.publish(t, "default", "application", "main")
	s.must(t, 201, "PUT", ns+"/gray", "team", `{"rules":{"percent":10}}`)
	// Rules alone change nothing until the gray values are published.
	if n := len(grayClients(t, s)); n != 0 {
		t.Fatalf("%d clients read gray values before the gray publish", n)
	}
	s.must(t, 200, "PUT", ns+"/gray/items/a", "team", `{"value":"gray"}`)
	rel := decode[map[string]any](t, s.must(t, 201, "POST", ns+"/gray/releases", "team", `{"comment":"try"}`))
	if rel["branch"] != "gray" {
		t.Fatalf("gray release: %v", rel)
	}
	at10 := grayClients(t, s)
	if n := len(at10); n < 80 || n > 120 {
		t.Fatalf("10 %% rule: %d of 1000 clients read the gray release", n)
	}
	s.must(t, 200, "PUT", ns+"/gray/rules", "team", `{"percent":30}`)
	at30 := grayClients(t, s)
	for i := range at10 {
		if !at30[i] {
			t.Fatalf("client %d was in at 10 %% and is out at 30 %%", i)
		}
	}
	if n := len(at30); n < 270 || n > 330 {
		t.Fatalf("30 %% rule: %d of 1000", n)
	}
	// IP and label rules.
	s.must(t, 200, "PUT", ns+"/gray/rules", "team", `{"percent":0,"ips":["10.0.0.7"],"labels":["canary"]}`)
	for q, want := range map[string]string{"ip=10.0.0.7": "gray", "ip=10.0.0.8": "main", "ip=10.0.0.8&label=canary": "gray", "label=other&ip=10.0.0.9": "main"} {
		if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application?"+q, "team", "")); c.Configurations["a"] != want {
			t.Errorf("%s read %q, want %q", q, c.Configurations["a"], want)
		}
	}
	// Promote: the gray values become the main release for everybody.
	s.must(t, 201, "POST", ns+"/gray/promote", "team", `{"comment":"good"}`)
	for _, q := range []string{"ip=10.0.0.8", "ip=10.0.0.7"} {
		c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application?"+q, "team", ""))
		if c.Configurations["a"] != "gray" || c.Configurations["b"] != "kept" {
			t.Fatalf("after promote %s read %+v", q, c)
		}
	}
	view := decode[config.NamespaceView](t, s.must(t, 200, "GET", ns, "team", ""))
	if view.Gray != nil || view.Draft.Items["a"] != "gray" {
		t.Fatalf("after promote: %+v", view)
	}
	// Abandon: a new branch's clients read main again.
	s.must(t, 201, "PUT", ns+"/gray", "team", `{"rules":{"percent":100}}`)
	s.must(t, 200, "PUT", ns+"/gray/items/a", "team", `{"value":"again"}`)
	s.must(t, 201, "POST", ns+"/gray/releases", "team", ``)
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application?ip=1.2.3.4", "team", "")); c.Configurations["a"] != "again" {
		t.Fatalf("100 %% gray: %+v", c)
	}
	s.must(t, 200, "DELETE", ns+"/gray", "team", "")
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/application?ip=1.2.3.4", "team", "")); c.Configurations["a"] != "gray" {
		t.Fatalf("after abandon: %+v", c)
	}
	hist := decode[config.ReleaseList](t, s.must(t, 200, "GET", ns+"/releases", "team", ""))
	if len(hist.Releases) != 4 || hist.Releases[1].Branch != "main" || hist.Releases[0].Branch != "gray" {
		t.Fatalf("history: %+v", hist.Releases)
	}
}

// TestGrayRuleChangeNotifies: a held poll is answered when the rules change
// (they take effect at once).
func TestGrayRuleChangeNotifies(t *testing.T) {
	s := newServer(t)
	ns := nsURL("default", "application")
	s.setItems(t, "default", "application", "a", "main")
	s.publish(t, "default", "application", "main")
	s.must(t, 201, "PUT", ns+"/gray", "team", `{}`)
	first := <-s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": -1}), bearer(s, "team"))
	held := s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": first.body[0].NotificationID}), bearer(s, "team"))
	waitHeld(t, s, 1)
	s.must(t, 200, "PUT", ns+"/gray/rules", "team", `{"percent":5}`)
	if a := <-held; a.status != 200 {
		t.Fatalf("poll after a rule change: %+v", a)
	}
}
