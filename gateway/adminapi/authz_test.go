package adminapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/gateway/gatewaytest"
)

// Every route of the admin API, tried with no token, a team token, an agent
// token and an ingest token: only admins (and agents on the instance
// routes) get past authorization, and nothing changes.
func TestEveryRouteChecksItsScopes(t *testing.T) {
	s := newServer(t)
	admin := []struct{ method, path, body string }{
		{"GET", "/api/v1/gateway/config", ""},
		{"GET", "/api/v1/gateway/history", ""},
		{"GET", "/api/v1/gateway/stats", ""},
		{"GET", "/api/v1/gateway/acl", ""},
		{"PUT", "/api/v1/gateway/acl", `{"allow":[],"deny":["192.0.2.1"],"force":true}`},
		{"POST", "/api/v1/gateway/acl/deny", `{"cidrs":["192.0.2.1"],"force":true}`},
		{"DELETE", "/api/v1/gateway/acl/deny?cidr=192.0.2.1&force=true", ""},
		{"GET", "/api/v1/gateway/bans", ""},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m","force":true}`},
		{"DELETE", "/api/v1/gateway/bans?prefix=192.0.2.1", ""},
		{"GET", "/api/v1/gateway/routes", ""},
		{"GET", "/api/v1/gateway/routes/r", ""},
		{"PUT", "/api/v1/gateway/routes/r?force=true", `{"path":"/x","function":"api"}`},
		{"DELETE", "/api/v1/gateway/routes/r?force=true", ""},
		{"GET", "/api/v1/rooms/shop", ""},
		{"PUT", "/api/v1/rooms/shop/policy", `{"weights":{"a":100}}`},
		{"POST", "/api/v1/rooms/shop/switch", `{"to":"a"}`},
		{"POST", "/api/v1/rooms/shop/switch/abort", `{}`},
		{"GET", "/api/v1/rooms/shop/history", ""},
	}
	agent := []struct{ method, path, body string }{
		{"PUT", "/api/v1/services/shop/instances/i1", `{"addr":"127.0.0.1:1"}`},
		{"GET", "/api/v1/services/shop/instances", ""},
		{"DELETE", "/api/v1/services/shop/instances/i1", ""},
	}
	try := func(method, path, body, token string, status int, msg string) {
		t.Helper()
		hdr := map[string]string{}
		if token != "" {
			hdr["Authorization"] = "Bearer " + token
		}
		r := gatewaytest.Do(t, s.addr, method, path, hdr, body)
		if r.Status != status || !strings.Contains(r.String(), msg) {
			t.Errorf("%s %s with %q: got %d %s, want %d %q", method, path, token[:min(len(token), 6)], r.Status, r.Body, status, msg)
		}
	}
	for _, c := range admin {
		try(c.method, c.path, c.body, "", 401, "bearer token")
		for _, tok := range []string{s.team, s.agent, s.ingest} {
			try(c.method, c.path, c.body, tok, 403, "scope")
		}
	}
	for _, c := range agent {
		try(c.method, c.path, c.body, "", 401, "bearer token")
		for _, tok := range []string{s.team, s.ingest} {
			try(c.method, c.path, c.body, tok, 403, "scope")
		}
	}
	if v := s.configVersion(t); v != 0 {
		t.Fatalf("unauthorized calls changed the config: version %d", v)
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"bans":[]`)
	// Without host bindings (Options.Hosts) an agent token writes no
	// registry entry (internal/tenancy decides what it may); admins do.
	r := gatewaytest.Do(t, s.addr, "PUT", "/api/v1/services/shop/instances/i1", map[string]string{"Authorization": "Bearer " + s.agent}, `{"addr":"127.0.0.1:1"}`)
	want(t, r, 403, "only admins may write the registry")
	want(t, s.do(t, "PUT", "/api/v1/services/shop/instances/i1", `{"addr":"127.0.0.1:1"}`), 200, `"instance"`)
}

// The unlock endpoint needs no token (the locked-out admin may be the
// token holder) and so answers loopback peers only, even when the internal
// listener is bound to a public address.
func TestUnlockAnswersLoopbackOnly(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"192.0.2.1","ttl":"1m"}`), 201, "192.0.2.1")
	for _, peer := range []string{"192.0.2.9:4000", "[2001:db8::1]:4000", "[::ffff:10.0.0.1]:1", "garbage"} {
		req := httptest.NewRequest("POST", "/admin/unlock", strings.NewReader(`{"address":"192.0.2.1"}`))
		req.RemoteAddr = peer
		rec := httptest.NewRecorder()
		s.unlock.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "loopback") {
			t.Fatalf("peer %s: %d %s", peer, rec.Code, rec.Body)
		}
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"192.0.2.1/32"`)
	// Browsers on the gateway host (a cross-site POST, DNS rebinding) are
	// refused, and so is a body that is not declared JSON.
	for _, c := range []struct {
		hdr    map[string]string
		host   string
		status int
	}{
		{map[string]string{"Origin": "http://evil.example", "Content-Type": "application/json"}, "127.0.0.1:9090", http.StatusForbidden},
		{map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, "127.0.0.1:9090", http.StatusForbidden},
		{map[string]string{"Content-Type": "application/json"}, "rebound.evil.example:9090", http.StatusForbidden},
		{map[string]string{"Content-Type": "text/plain"}, "127.0.0.1:9090", http.StatusUnsupportedMediaType},
		{nil, "localhost:9090", http.StatusUnsupportedMediaType},
	} {
		req := httptest.NewRequest("POST", "/admin/unlock", strings.NewReader(`{"address":"192.0.2.1"}`))
		req.RemoteAddr, req.Host = "127.0.0.1:4000", c.host
		req.Header.Set("Authorization", "Bearer "+s.admin)
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		s.unlock.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Fatalf("%v Host %s: %d %s, want %d", c.hdr, c.host, rec.Code, rec.Body, c.status)
		}
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"192.0.2.1/32"`)
	// On loopback it still needs an admin token: apps deployed on the
	// gateway host are loopback peers too.
	for _, c := range []struct {
		token  string
		status int
	}{{"", 401}, {"wharf_0123456789abcdef_" + strings.Repeat("0", 64), 401}, {s.team, 403}, {s.agent, 403}, {s.ingest, 403}} {
		req := httptest.NewRequest("POST", "/admin/unlock", strings.NewReader(`{"address":"192.0.2.1"}`))
		req.RemoteAddr, req.Host = "127.0.0.1:4000", "127.0.0.1:9090"
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		s.unlock.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Fatalf("token %.8s: %d %s, want %d", c.token, rec.Code, rec.Body, c.status)
		}
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"192.0.2.1/32"`)
	for _, c := range []struct{ body, msg string }{
		{`{"address":"192.0.2.1","address":"127.0.0.1"}`, "duplicate key"},
		{`{"address":"192.0.2.0/24"}`, "address:"},
		{`{"addr":"192.0.2.1"}`, "unknown field"},
	} {
		req := httptest.NewRequest("POST", "/admin/unlock", strings.NewReader(c.body))
		req.RemoteAddr, req.Host = "127.0.0.1:4000", "127.0.0.1:9090"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.admin)
		rec := httptest.NewRecorder()
		s.unlock.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.msg) {
			t.Fatalf("%s: %d %s", c.body, rec.Code, rec.Body)
		}
	}
}
