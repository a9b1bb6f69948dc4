package adminapi_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/ops"
	"github.com/wharfhq/wharf/internal/testenv"
)

var loopbackProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// from sends an admin request as the client at xff (through a trusted proxy
// on loopback).
func (s *server) from(t *testing.T, xff, method, path, body string) gatewaytest.Response {
	t.Helper()
	return gatewaytest.Do(t, s.addr, method, path, map[string]string{"Authorization": "Bearer " + s.admin, "X-Forwarded-For": xff}, body)
}

// Changes that would shut out the admin making them (and the CLI and
// local agent on loopback) are refused with 409 naming the entry and the
// address, unless forced.
func TestChangesThatLockOutTheCallerAreRefused(t *testing.T) {
	s := newServerWith(t, gateway.Options{TrustedProxies: loopbackProxies})
	const me = "198.51.100.7"
	cases := []struct{ method, path, body, msg string }{
		{"POST", "/api/v1/gateway/bans", `{"prefix":"198.51.100.0/24","ttl":"1m"}`, "prefix: 198.51.100.0/24 would lock out 198.51.100.7"},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"127.0.0.1","ttl":"1m"}`, "127.0.0.1"},
		{"POST", "/api/v1/gateway/bans", `{"prefix":"127.0.0.0/8","ttl":"1m","route":"wharf-api"}`, "prefix: 127.0.0.0/8 would lock out 127.0.0.1"},
		{"POST", "/api/v1/gateway/acl/deny", `{"cidrs":["203.0.113.9","198.51.100.7"]}`, "cidrs[1]: 198.51.100.7 would lock out 198.51.100.7"},
		{"POST", "/api/v1/gateway/acl/deny", `{"cidrs":["127.0.0.0/8"]}`, "127.0.0.1"},
		{"POST", "/api/v1/gateway/acl/allow", `{"cidrs":["203.0.113.0/24"]}`, "acl.allow: does not admit 198.51.100.7"},
		{"PUT", "/api/v1/gateway/acl", `{"allow":["198.51.100.0/24"],"deny":[]}`, "allow: does not admit 127.0.0.1"},
		{"PUT", "/api/v1/gateway/routes/api", `{"path":"/api/","function":"api","acl":{"deny":["198.51.100.0/25"]}}`, "acl.deny[0]: 198.51.100.0/25 would lock out 198.51.100.7"},
	}
	for _, c := range cases {
		r := s.from(t, me, c.method, c.path, c.body)
		want(t, r, 409, c.msg)
		if !strings.Contains(r.String(), "force") {
			t.Fatalf("409 must say how to force: %s", r.Body)
		}
	}
	if v := s.configVersion(t); v != 0 {
		t.Fatalf("refused changes changed the config: version %d", v)
	}
	want(t, s.do(t, "GET", "/api/v1/gateway/bans", ""), 200, `"bans":[]`)
	// An IPv6 caller: banning its neighbour bans its /64, and so itself.
	want(t, s.from(t, "2001:db8::7", "POST", "/api/v1/gateway/bans", `{"prefix":"2001:db8::1","ttl":"1m"}`), 409, "prefix: 2001:db8::/64 would lock out 2001:db8::7")
	want(t, s.from(t, "2001:db8::7", "POST", "/api/v1/gateway/acl/allow", `{"cidrs":["198.51.100.0/24","127.0.0.1"]}`), 409, "acl.allow: does not admit 2001:db8::7")
	// Somebody else's address is fine, and so is a list that admits us all.
	want(t, s.from(t, me, "POST", "/api/v1/gateway/bans", `{"prefix":"203.0.113.0/24","ttl":"1m"}`), 201, "203.0.113.0/24")
	want(t, s.from(t, me, "PUT", "/api/v1/gateway/acl", `{"allow":["198.51.100.0/24","127.0.0.0/8"],"deny":["203.0.113.0/24"]}`), 200, `"version":1`)
	// A lock-out that exists already does not block unrelated changes.
	want(t, s.from(t, me, "PUT", "/api/v1/gateway/routes/api", `{"path":"/api/","function":"api","acl":{"deny":["198.51.100.0/25"]}}`), 409, "force")
	want(t, s.from(t, me, "PUT", "/api/v1/gateway/routes/api?force=true", `{"path":"/api/","function":"api","acl":{"deny":["198.51.100.0/25"]}}`), 201, `"version":2`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/limits/l", `{"key":"ip","rate":"1r/s"}`), 201, `"version":3`)
}

// An admin who forced a lock-out anyway gets back in through the internal
// listener: POST /admin/unlock lifts the bans and ACL entries that shut the
// address out; the listener answers loopback peers only.
func TestForcedLockOutAndUnlockOnTheInternalListener(t *testing.T) {
	s := newServerWith(t, gateway.Options{TrustedProxies: loopbackProxies})
	const me = "198.51.100.7"
	want(t, s.from(t, me, "POST", "/api/v1/gateway/bans", `{"prefix":"198.51.100.7","ttl":"1h","route":"wharf-api","force":true}`), 201, "wharf-api")
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"198.51.100.0/24","ttl":"1h"}`), 201, "198.51.100.0/24")
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.from(t, me, "GET", "/api/v1/gateway/config", ""); r.Status != 403 {
			return &apiclient.Error{Status: r.Status, Message: "not banned yet"}
		}
		return nil
	})
	// Lists can be forced too; the loopback admin adds them for us.
	want(t, s.do(t, "POST", "/api/v1/gateway/acl/deny", `{"cidrs":["198.51.100.7","203.0.113.1"],"force":true}`), 200, `"added":2`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/api?force=true", `{"path":"/api/","function":"api","acl":{"allow":["203.0.113.0/24","127.0.0.1"]}}`), 201, "")

	srv, err := ops.New(ops.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("POST /admin/unlock", s.unlock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := apiclient.New("http://"+srv.Addr().String(), s.admin)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := c.Do(ctx, "POST", "/admin/unlock", map[string]any{"address": "not-an-ip"}, &out); err == nil || !strings.Contains(err.Error(), "address") {
		t.Fatalf("bad address: %v", err)
	}
	if err := c.Do(ctx, "POST", "/admin/unlock", map[string]any{"address": me}, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"198.51.100.0/24", "wharf-api", "acl.deny[0]", "routes[0].acl.allow"} {
		if !strings.Contains(jsonString(t, out), w) {
			t.Fatalf("unlock must report %q: %v", w, out)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.from(t, me, "GET", "/api/v1/gateway/config", ""); r.Status != 200 {
			return &apiclient.Error{Status: r.Status, Message: string(r.Body)}
		}
		return nil
	})
	want(t, s.do(t, "GET", "/api/v1/gateway/acl", ""), 200, `"deny":["203.0.113.1"]`)
	want(t, s.do(t, "GET", "/api/v1/gateway/history?limit=1", ""), 200, "unlock 198.51.100.7")
}

// A manual ban of one IPv6 address covers its /ipv6_prefix, like automatic
// bans and rate limits do: the client's neighbours in the /64 are the same
// client.
func TestIPv6BanCoversThePrefix(t *testing.T) {
	s := newServerWith(t, gateway.Options{TrustedProxies: loopbackProxies, IPv6Prefix: 64})
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"2001:db8::1","ttl":"10m"}`), 201, `"prefix":"2001:db8::/64"`)
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.from(t, "2001:db8::2", "GET", "/api/v1/whoami", ""); r.Status != 403 {
			return &apiclient.Error{Status: r.Status, Message: string(r.Body)}
		}
		return nil
	})
	want(t, s.from(t, "2001:db8::ffff:1", "GET", "/api/v1/whoami", ""), 403, "banned")
	if r := s.from(t, "2001:db8:0:1::1", "GET", "/api/v1/gateway/config", ""); r.Status != 200 {
		t.Fatalf("the next /64 is not banned: %d %s", r.Status, r.Body)
	}
	// A wider ban stays as wide; unbanning the address lifts its /64.
	want(t, s.do(t, "POST", "/api/v1/gateway/bans", `{"prefix":"2001:db8:1::/48","ttl":"10m"}`), 201, `"prefix":"2001:db8:1::/48"`)
	want(t, s.do(t, "DELETE", "/api/v1/gateway/bans?prefix=2001:db8::2", ""), 200, "2001:db8::/64")
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
