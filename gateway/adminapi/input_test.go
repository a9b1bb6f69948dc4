package adminapi_test

import (
	"encoding/json"
	"testing"

	"github.com/wharfhq/wharf/gateway/edge"
)

// configVersion is the stored edge config's version.
func (s *server) configVersion(t *testing.T) int64 {
	t.Helper()
	var cfg edge.Doc
	if err := json.Unmarshal(s.do(t, "GET", "/api/v1/gateway/config", "").Body, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Version
}

// A body with a key twice is ambiguous (which one wins depends on the
// parser); every API body refuses it naming the key's path.
func TestDuplicateKeysAreRefusedNamingThePath(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/services/shop", `{"instances":[{"addr":"127.0.0.1:9"}]}`), 201, `"version":1`)
	cases := []struct{ method, path, body, field string }{
		{"PUT", "/api/v1/gateway/routes/r", `{"path":"/x","function":"api","path":"/api/"}`, `path: duplicate key`},
		{"PUT", "/api/v1/gateway/routes/r", `{"path":"/x","function":"api","PATH":"/api/"}`, `PATH: duplicate key`},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","Prefix":"127.0.0.1"}`, `Prefix: duplicate key`},
		{"PUT", "/api/v1/gateway/services/s", `{"instances":[{"addr":"127.0.0.1:1","addr":"127.0.0.1:2"}]}`, `instances[0].addr: duplicate key`},
		{"PUT", "/api/v1/gateway/acl", `{"allow":[],"deny":["192.0.2.1"],"deny":[]}`, `deny: duplicate key`},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","prefix":"198.51.100.1"}`, `prefix: duplicate key`},
		{"POST", "/api/v1/gateway/acl/deny", `{"cidrs":["192.0.2.1"],"cidrs":[]}`, `cidrs: duplicate key`},
		{"PUT", "/api/v1/rooms/shop/policy", `{"weights":{"a":100,"a":0}}`, `weights.a: duplicate key`},
		{"POST", "/api/v1/rooms/shop/switch", `{"to":"a","to":"b"}`, `to: duplicate key`},
		{"PUT", "/api/v1/services/shop/instances/i1", `{"addr":"127.0.0.1:1","addr":"127.0.0.1:2"}`, `addr: duplicate key`},
	}
	for _, c := range cases {
		want(t, s.do(t, c.method, c.path, c.body), 400, c.field)
	}
	if v := s.configVersion(t); v != 1 {
		t.Fatalf("refused bodies changed the config: version %d", v)
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"bans":[]`)
}

// A ban on a route that does not exist would silently do nothing.
func TestBanOnUnknownRouteIsRefused(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","route":"nope"}`), 400, `route: unknown route \"nope\"`)
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","route":"wharf-api"}`), 201, `"route":"wharf-api"`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/shop", `{"path":"/shop","function":"api"}`), 201, `"version":1`)
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","route":"shop"}`), 201, `"route":"shop"`)
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"route":"shop"`)
}

// A switch to a room that the service does not have would move all its
// traffic nowhere.
func TestRoomSwitchToUnknownRoomIsRefused(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/services/shop", `{"instances":[{"addr":"127.0.0.1:9","room":"east"}]}`), 201, `"version":1`)
	want(t, s.do(t, "PUT", "/api/v1/rooms/shop/policy", `{"weights":{"east":100,"west":0}}`), 200, `"version":2`)
	want(t, s.do(t, "POST", "/api/v1/rooms/shop/switch", `{"to":"mars"}`), 400, `to: unknown room \"mars\"`)
	want(t, s.do(t, "POST", "/api/v1/rooms/shop/switch", `{"weights":{"east":50,"mars":50}}`), 400, `weights.mars: unknown room`)
	want(t, s.do(t, "GET", "/api/v1/rooms/shop", ""), 200, `"switch":null`)
	want(t, s.do(t, "POST", "/api/v1/rooms/shop/switch", `{"to":"west"}`), 201, `"west":100`)
}

// NUL and other control characters in names and free text are refused with
// the field named: they end up in logs, keys and terminals.
func TestControlCharactersAreRefusedNamingTheField(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/services/shop", `{"instances":[{"addr":"127.0.0.1:9","room":"east"}]}`), 201, `"version":1`)
	want(t, s.do(t, "PUT", "/api/v1/rooms/shop/policy", `{"weights":{"east":100,"west":0}}`), 200, `"version":2`)
	cases := []struct{ method, path, body, field string }{
		{"PUT", "/api/v1/gateway/routes/a%00b", `{"path":"/x","function":"api"}`, "name:"},
		{"PUT", "/api/v1/gateway/routes/r", `{"path":"/x\u0000y","function":"api"}`, "path:"},
		{"PUT", "/api/v1/gateway/routes/r", `{"path":"/x","host":"a\u0000.example.com","function":"api"}`, "host:"},
		{"PUT", "/api/v1/gateway/services/s", `{"instances":[{"addr":"127.0.0.1:9\u0000"}]}`, "instances[0].addr:"},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","reason":"a\u0000b"}`, "reason:"},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","reason":"a\u001b[31mred"}`, "reason:"},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","route":"a\u0000b"}`, "route:"},
		{"POST", "/api/v1/rooms/shop/switch", `{"to":"west","why":"x\u0000y"}`, "why:"},
		{"POST", "/api/v1/rooms/shop/switch", `{"to":"we\u0000st"}`, "to:"},
		{"PUT", "/api/v1/services/shop/instances/i%001", `{"addr":"127.0.0.1:1"}`, "id:"},
		{"PUT", "/api/v1/services/shop/instances/i1", `{"addr":"127.0.0.1:1","version":"v1\u0000"}`, "version:"},
	}
	for _, c := range cases {
		want(t, s.do(t, c.method, c.path, c.body), 400, c.field)
	}
	if v := s.configVersion(t); v != 2 {
		t.Fatalf("refused bodies changed the config: version %d", v)
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"bans":[]`)
}

// A route that takes a built-in prefix (the API, functions, artifact
// uploads, console) away from Wharf must say so.
func TestRoutesShadowingBuiltinsAreRefused(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/services/app", `{"instances":[{"addr":"127.0.0.1:9"}]}`), 201, `"version":1`)
	for _, p := range []string{"/api/", "/api/v1/gateway/", "/fn/", "/fn/ab/decide", "/api/v1/apps/", "/console/"} {
		want(t, s.do(t, "PUT", "/api/v1/gateway/routes/r", `{"path":"`+p+`","service":"app"}`), 400, "path: shadows the built-in")
	}
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/r", `{"path":"/fn/","function":"api","acl":{"deny":["192.0.2.0/24"]}}`), 201, `"version":2`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/app", `{"path":"/","service":"app"}`), 201, `"version":3`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/app2", `{"host":"app.example.com","path":"/","service":"app"}`), 201, `"version":4`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/mine", `{"path":"/api/v2/","service":"app","shadow_builtin":true}`), 201, `"shadow_builtin":true`)
	if v := s.configVersion(t); v != 5 {
		t.Fatalf("version %d", v)
	}
}
