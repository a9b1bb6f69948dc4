package config_test

import (
	"strings"
	"testing"
)

// TestBadInput: bad input gets a 400 naming the field, key or line, and
// changes nothing.
func TestBadInput(t *testing.T) {
	s := newServer(t)
	ns := nsURL("default", "application")
	s.setItems(t, "default", "application", "a", "1")
	long := strings.Repeat("k", 129)
	for _, c := range []struct{ method, path, body, want string }{
		{"PUT", ns + "/items/" + long, `{"value":"x"}`, "key is 129 bytes, at most 128"},
		{"PUT", ns + "/items/a", `{}`, `"field":"value"`},
		{"PUT", ns + "/items/a", `{"value":1}`, `field \"value\" must be string`},
		{"PUT", ns + "/draft", `{}`, `"field":"items"`},
		{"PUT", ns + "/draft", `{"content":"a=1\nb=\\u00zz"}`, `line 2`},
		{"PUT", nsURL("default", "c.json") + "/draft", `{"content":"{\n\"a\": 1,\n}"}`, `line 3`},
		{"PUT", nsURL("default", "c.yaml") + "/draft", `{"content":"a: [1\nb: 2\n"}`, `"field":"content"`},
		{"PUT", nsURL("default", "c.json") + "/items/other", `{"value":"x"}`, `only the key content`},
		{"POST", "/api/v1/config/apps/shop/namespaces", `{"name":"x","format":"toml"}`, `"field":"format"`},
		{"POST", "/api/v1/config/apps/shop/namespaces", `{"name":"a b"}`, `"field":"name"`},
		{"POST", "/api/v1/config/apps/shop/namespaces", `{"name":"pub","public":true,"override":"bank"}`, `"field":"override"`},
		{"PUT", ns + "/gray", `{"rules":{"percent":150,"ips":["nope"]}}`, `rules.percent`},
		{"POST", ns + "/rollback", `{"to":-1}`, `to must be a release id`},
		{"GET", ns + "/diff?from=x", ``, `from must be a release id`},
		{"GET", ns + "/releases/0", ``, `id must be a release id`},
		{"GET", "/api/v1/config/apps/Shop!/namespaces", ``, `not a valid app name`},
		{"GET", "/notifications/v2?appId=shop&notifications=nope", ``, `notifications: not a JSON array`},
		{"GET", "/notifications/v2?appId=shop", ``, `notifications: required`},
		{"GET", "/notifications/v2?notifications=[]", ``, `appId`},
		{"GET", `/notifications/v2?appId=shop&notifications=[{"namespaceName":"a/b"}]`, ``, `notifications[0].namespaceName`},
		{"GET", "/configs/shop/default/application?messages=nope", ``, `messages:`},
		{"GET", "/configs/shop/de%20fault/application", ``, `cluster`},
		{"PUT", "/api/v1/config/apps/shop/accesskeys/zz", `{"enabled":true}`, `not an access key id`},
	} {
		r := s.do(t, c.method, c.path, "team", c.body)
		if r.Status != 400 || !strings.Contains(r.String(), c.want) {
			t.Errorf("%s %s %s: %d %s; want 400 with %q", c.method, c.path, c.body, r.Status, r.Body, c.want)
		}
	}
	// Publish validates: a key too long for publish (set through the draft).
	s.must(t, 200, "PUT", nsURL("default", "big")+"/draft", "team", `{"items":{"ok":"1"}}`)
	r := s.do(t, "POST", nsURL("default", "big")+"/releases", "team", `{"comment":"`+strings.Repeat("c", 2000)+`"}`)
	if r.Status != 400 || !strings.Contains(r.String(), "comment") {
		t.Errorf("long comment: %d %s", r.Status, r.Body)
	}
	// Nothing was lost: the draft holds what was set before.
	if v := s.must(t, 200, "GET", ns, "team", ""); !strings.Contains(v.String(), `"a":"1"`) {
		t.Fatalf("draft after bad input: %s", v.Body)
	}
	// Stale if_version: 409.
	if r := s.do(t, "PUT", ns+"/items/a", "team", `{"value":"2","if_version":1}`); r.Status != 409 {
		t.Errorf("stale if_version: %d %s", r.Status, r.Body)
	}
}
