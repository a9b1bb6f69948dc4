package config_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
)

// TestAuthorizationPerScope tries every route with no token, an ingest
// token, an agent token (of no host of the app), another team's token, the
// owning team's and an admin's.
func TestAuthorizationPerScope(t *testing.T) {
	s := newServer(t)
	s.setItems(t, "default", "application", "a", "1")
	s.publish(t, "default", "application", "one")
	s.must(t, 201, "PUT", nsURL("default", "application")+"/gray", "team", `{"rules":{"percent":10}}`)
	key := decode[config.AccessKey](t, s.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	ns := nsURL("default", "application")
	type route struct {
		method, path, body string
		client             bool // a client read: 404 for other teams and agents too
	}
	routes := []route{
		{"GET", "/api/v1/config/apps/shop/namespaces", "", false},
		{"POST", "/api/v1/config/apps/shop/namespaces", `{"name":"extra.json"}`, false},
		{"GET", ns, "", false},
		{"PUT", ns + "/draft", `{"items":{"a":"2"}}`, false},
		{"PUT", ns + "/items/b", `{"value":"x"}`, false},
		{"DELETE", ns + "/items/b", "", false},
		{"POST", ns + "/releases", `{"comment":"c"}`, false},
		{"GET", ns + "/releases", "", false},
		{"GET", ns + "/releases/1", "", false},
		{"GET", ns + "/diff", "", false},
		{"POST", ns + "/rollback", `{"to":1}`, false},
		{"PUT", ns + "/gray/rules", `{"percent":20}`, false},
		{"PUT", ns + "/gray/items/a", `{"value":"g"}`, false},
		{"DELETE", ns + "/gray/items/a", "", false},
		{"POST", ns + "/gray/releases", `{}`, false},
		{"POST", ns + "/gray/promote", `{}`, false},
		{"PUT", ns + "/gray", `{}`, false},
		{"DELETE", ns + "/gray", "", false},
		{"GET", "/api/v1/config/apps/shop/audit", "", false},
		{"GET", "/api/v1/config/apps/shop/accesskeys", "", false},
		{"POST", "/api/v1/config/apps/shop/accesskeys", "", false},
		{"PUT", "/api/v1/config/apps/shop/accesskeys/" + key.ID, `{"enabled":true}`, false},
		{"DELETE", "/api/v1/config/apps/shop/accesskeys/" + key.ID, "", false},
		{"GET", "/configs/shop/default/application", "", true},
		{"GET", "/configfiles/json/shop/default/application", "", true},
		{"GET", "/configfiles/raw/shop/default/application", "", true},
		{"GET", "/configfiles/shop/default/application", "", true},
		{"GET", pollQuery("shop", "default", map[string]int64{"application": -1}), "", true},
	}
	for _, rt := range routes {
		name := rt.method + " " + rt.path
		// Access keys are the team's secrets: listing them is a write.
		write := rt.method != "GET" || strings.Contains(rt.path, "/accesskeys")
		if r := s.do(t, rt.method, rt.path, "", rt.body); r.Status != 401 {
			t.Errorf("%s without a token: %d %s", name, r.Status, r.Body)
		}
		if r := s.do(t, rt.method, rt.path, "ingest", rt.body); r.Status != 403 {
			t.Errorf("%s as ingest: %d %s", name, r.Status, r.Body)
		}
		wantAgent := 404
		if write {
			wantAgent = 403
		}
		if r := s.do(t, rt.method, rt.path, "agent", rt.body); r.Status != wantAgent {
			t.Errorf("%s as an agent of no host of the app: %d %s, want %d", name, r.Status, r.Body, wantAgent)
		}
		if r := s.do(t, rt.method, rt.path, "other", rt.body); r.Status != 404 || !strings.Contains(r.String(), `app \"shop\" not found`) {
			t.Errorf("%s as another team: %d %s", name, r.Status, r.Body)
		}
		// The team goes first: what it deleted or promoted is gone when the
		// admin repeats the call (a 404 of the thing, not of the app).
		for _, who := range []string{"team", "admin"} {
			r := s.do(t, rt.method, rt.path, who, rt.body)
			gone := who == "admin" && r.Status == 404 && !strings.Contains(r.String(), "app \\\"shop\\\" not found")
			if r.Status >= 400 && r.Status != 409 && !gone {
				t.Errorf("%s as %s: %d %s", name, who, r.Status, r.Body)
			}
		}
	}
	// /services/config is public, as Apollo's meta service.
	for _, who := range []string{"", "ingest", "agent", "other", "team", "admin"} {
		r := s.do(t, "GET", "/services/config?appId=shop", who, "")
		if l := decode[[]config.ServiceDTO](t, r); r.Status != 200 || len(l) != 1 || l[0].AppName != "APOLLO-CONFIGSERVICE" || l[0].HomepageURL != "http://"+s.addr+"/" {
			t.Errorf("services as %q: %d %s", who, r.Status, r.Body)
		}
	}
}

// sign is what an Apollo client sends for pathWithQuery with secret.
func sign(app, secret, pathWithQuery string, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(ts + "\n" + pathWithQuery))
	return map[string]string{"Authorization": "Apollo " + app + ":" + base64.StdEncoding.EncodeToString(m.Sum(nil)), "Timestamp": ts}
}

// TestAccessKeySignature: Apollo's signed reads with an app access key.
func TestAccessKeySignature(t *testing.T) {
	s := newServer(t)
	s.setItems(t, "default", "application", "a", "1")
	s.publish(t, "default", "application", "one")
	k := decode[config.AccessKey](t, s.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	if len(k.Secret) != 32 || !k.Enabled {
		t.Fatalf("created key: %+v", k)
	}
	list := decode[config.AccessKeyList](t, s.must(t, 200, "GET", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	if len(list.Keys) != 1 || list.Keys[0].Secret != "" {
		t.Fatalf("the list shows secrets or misses the key: %+v", list)
	}
	path := "/configs/shop/default/application?ip=10.1.1.1"
	get := func(hdr map[string]string) gatewaytest.Response {
		return gatewaytest.Do(t, s.addr, "GET", path, hdr, "")
	}
	if r := get(sign("shop", k.Secret, path, time.Now())); r.Status != 200 {
		t.Fatalf("signed read: %d %s", r.Status, r.Body)
	}
	for name, hdr := range map[string]map[string]string{
		"wrong secret":       sign("shop", "0123456789abcdef0123456789abcdef", path, time.Now()),
		"other path signed":  sign("shop", k.Secret, "/configs/shop/default/application", time.Now()),
		"skewed clock":       sign("shop", k.Secret, path, time.Now().Add(-2*time.Minute)),
		"other app's header": sign("bank", k.Secret, path, time.Now()),
		"no timestamp":       {"Authorization": sign("shop", k.Secret, path, time.Now())["Authorization"]},
	} {
		r := get(hdr)
		if r.Status != 401 || strings.Contains(r.String(), k.Secret) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	s.must(t, 200, "PUT", "/api/v1/config/apps/shop/accesskeys/"+k.ID, "team", `{"enabled":false}`)
	if r := get(sign("shop", k.Secret, path, time.Now())); r.Status != 401 {
		t.Fatalf("disabled key: %d %s", r.Status, r.Body)
	}
	s.must(t, 200, "PUT", "/api/v1/config/apps/shop/accesskeys/"+k.ID, "team", `{"enabled":true}`)
	s.must(t, 204, "DELETE", "/api/v1/config/apps/shop/accesskeys/"+k.ID, "team", "")
	if r := get(sign("shop", k.Secret, path, time.Now())); r.Status != 401 {
		t.Fatalf("deleted key: %d %s", r.Status, r.Body)
	}
}
