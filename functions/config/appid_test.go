package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
)

// TestAppIDIgnoresCase: Apollo matches a client's appId without regard to
// case (Apollo's own sample app is "SampleApp"), and Wharf's app names are
// lowercase: a client configured with "Shop" reads app shop — signed with
// "Apollo Shop:…" or with a token — is pushed its changes, and is answered
// under the appId it asked with; the notification messages name the app
// as Wharf does, so the read-your-notification check keeps working. Who
// may read does not change.
func TestAppIDIgnoresCase(t *testing.T) {
	s := newServer(t)
	s.setItems(t, "default", "application", "a", "1")
	s.publish(t, "default", "application", "one")
	k := decode[config.AccessKey](t, s.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	signed := func(path string) gatewaytest.Response {
		return gatewaytest.Do(t, s.addr, "GET", path, sign("Shop", k.Secret, path, time.Now()), "")
	}

	path := "/configs/Shop/default/application?ip=10.1.1.1"
	r := signed(path)
	if r.Status != 200 {
		t.Fatalf("signed read as Shop: %d %s", r.Status, r.Body)
	}
	if c := decode[config.ApolloConfig](t, r); c.AppID != "Shop" || c.Configurations["a"] != "1" {
		t.Fatalf("read as Shop: %+v", c)
	}
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/SHOP/default/application", "team", "")); c.AppID != "SHOP" || c.Configurations["a"] != "1" {
		t.Fatalf("read as SHOP with the team's token: %+v", c)
	}
	if r := signed("/configfiles/json/Shop/default/application"); r.Status != 200 || strings.TrimSpace(r.String()) != `{"a":"1"}` {
		t.Fatalf("configfiles as Shop: %d %s", r.Status, r.Body)
	}
	// Who may read is unchanged: another team, a wrong secret, another
	// app's signature.
	s.must(t, 404, "GET", "/configs/Shop/default/application", "other", "")
	if r := gatewaytest.Do(t, s.addr, "GET", path, sign("Shop", "0123456789abcdef0123456789abcdef", path, time.Now()), ""); r.Status != 401 {
		t.Fatalf("wrong secret as Shop: %d %s", r.Status, r.Body)
	}
	if r := gatewaytest.Do(t, s.addr, "GET", path, sign("bank", k.Secret, path, time.Now()), ""); r.Status != 401 {
		t.Fatalf("bank's header on Shop's path: %d %s", r.Status, r.Body)
	}

	// Its long poll: answered at once with -1, messages under Wharf's name;
	// held with the current id until a publish.
	pq := pollQuery("Shop", "default", map[string]int64{"application": -1})
	first := <-s.startPoll(t, pq, sign("Shop", k.Secret, pq, time.Now()))
	if first.err != nil || first.status != 200 || len(first.body) != 1 || first.body[0].Messages == nil ||
		first.body[0].Messages.Details["shop+default+application"] != first.body[0].NotificationID {
		t.Fatalf("first poll as Shop: %+v", first)
	}
	known := settledID(t, s, "team", "shop", "application")
	pq = pollQuery("Shop", "default", map[string]int64{"application": known})
	held := s.startPoll(t, pq, sign("Shop", k.Secret, pq, time.Now()))
	waitHeld(t, s, 1)
	s.setItems(t, "default", "application", "a", "2")
	s.publish(t, "default", "application", "two")
	if a := <-held; a.err != nil || a.status != 200 || len(a.body) != 1 || a.body[0].NamespaceName != "application" || a.body[0].NotificationID <= known {
		t.Fatalf("held poll as Shop after a publish: %+v", a)
	}
	if c := decode[config.ApolloConfig](t, signed(path)); c.Configurations["a"] != "2" {
		t.Fatalf("after the publish, as Shop: %+v", c)
	}
}
