package config

import (
	"strings"
	"testing"
	"time"
)

// issueExample is the declarative shape the gateway issue specifies.
const issueExample = `
gateway:
  listen: ":8080"
  trusted_proxies: ["10.0.0.0/8"]
  ipv6_prefix: 64
  acl: {allow: [], deny: ["203.0.113.0/24"]}
limits:
  - name: per_ip
    key: ip              # ip | header:X-Api-Key | route | ip+route
    rate: 10r/s          # or N r/m
    burst: 20
    delay: 8             # or nodelay: true
    status: 429
    dry_run: false
services:
  - name: shop
    instances: [{addr: "127.0.0.1:9001"}, {addr: "127.0.0.1:9002"}]
routes:
  - {host: shop.example.com, path: /, service: shop, limits: [per_ip], max_body_bytes: 1048576}
  - {path: /api/, function: api}
`

func TestEdgeConfigIssueExample(t *testing.T) {
	o, err := load(t, nil, nil, issueExample)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Limits) != 1 || o.Limits[0].Burst != 20 || o.Limits[0].Delay != 8 || o.Limits[0].Rate != "10r/s" {
		t.Fatalf("limits %+v", o.Limits)
	}
	if len(o.Services) != 1 || len(o.Services[0].Instances) != 2 || o.Services[0].Instances[1].Addr != "127.0.0.1:9002" {
		t.Fatalf("services %+v", o.Services)
	}
	if len(o.Routes) != 2 || o.Routes[0].MaxBody != 1048576 || o.Routes[1].Function != "api" {
		t.Fatalf("routes %+v", o.Routes)
	}
	if len(o.Gateway.ACL.Deny) != 1 || o.Gateway.IPv6Prefix != 64 {
		t.Fatalf("gateway %+v", o.Gateway)
	}
}

func TestEdgeConfigFlagsForACL(t *testing.T) {
	o, err := load(t, []string{"--gateway-acl-deny", "198.51.100.0/24,2001:db8::/32"}, []string{"WHARF_GATEWAY_IPV6_PREFIX=56"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Gateway.ACL.Deny) != 2 || o.Gateway.IPv6Prefix != 56 {
		t.Fatalf("%+v", o.Gateway)
	}
}

func TestEdgeConfigErrorsNameTheField(t *testing.T) {
	base := "services:\n  - {name: shop, instances: [{addr: \"127.0.0.1:1\"}]}\nlimits:\n  - {name: per_ip, key: ip, rate: 1r/s}\n"
	cases := map[string]struct{ yaml, want string }{
		"bad cidr":          {"gateway:\n  acl: {deny: [10.0.0.0/33]}\n", `gateway.acl.deny[0]: invalid CIDR "10.0.0.0/33"`},
		"bad route cidr":    {base + "routes:\n  - {path: /, service: shop, acl: {allow: [nope]}}\n", `routes[0].acl.allow[0]`},
		"unknown limit":     {base + "routes:\n  - {path: /, service: shop, limits: [per_ipp]}\n", `routes[0].limits[0]: unknown limit "per_ipp"`},
		"unknown service":   {base + "routes:\n  - {path: /, service: shopp}\n", `routes[0].service: unknown service "shopp"`},
		"both targets":      {base + "routes:\n  - {path: /, service: shop, function: api}\n", "exactly one of service and function"},
		"no target":         {"routes:\n  - {path: /}\n", "exactly one of service and function"},
		"path":              {base + "routes:\n  - {path: api, service: shop}\n", `routes[0].path: must start with /`},
		"host":              {base + "routes:\n  - {host: \"a*.b\", path: /, service: shop}\n", `routes[0].host`},
		"method":            {base + "routes:\n  - {path: /, service: shop, methods: [get]}\n", `routes[0].methods[0]`},
		"negative burst":    {"limits:\n  - {name: a, key: ip, rate: 1r/s, burst: -1}\n", "limits[0].burst: must not be negative"},
		"status":            {"limits:\n  - {name: a, key: ip, rate: 1r/s, status: 302}\n", "limits[0].status: must be between 400 and 599"},
		"key":               {"limits:\n  - {name: a, key: cookie, rate: 1r/s}\n", "limits[0].key"},
		"header key":        {"limits:\n  - {name: a, key: \"header:X Api\", rate: 1r/s}\n", "limits[0].key"},
		"no rate":           {"limits:\n  - {name: a, key: ip}\n", "limits[0].rate: is required"},
		"delay and nodelay": {"limits:\n  - {name: a, key: ip, rate: 1r/s, delay: 3, nodelay: true}\n", "limits[0].delay: cannot be set together with nodelay"},
		"duplicate limit":   {"limits:\n  - {name: a, key: ip, rate: 1r/s}\n  - {name: a, key: ip, rate: 2r/s}\n", `limits[1].name: duplicate limit "a"`},
		"instance addr":     {"services:\n  - {name: s, instances: [{addr: localhost}]}\n", "services[0].instances[0].addr"},
		"ipv6 prefix":       {"gateway:\n  ipv6_prefix: 129\n", "gateway.ipv6_prefix"},
		"auto ban":          {base + "routes:\n  - {path: /, service: shop, auto_ban: {after: 0, within: 1m, for: 10m}}\n", "routes[0].auto_ban.after"},
		"unknown route key": {base + "routes:\n  - {path: /, service: shop, limit: [per_ip]}\n", `unknown key "routes.0.limit"`},
		"trusted proxies":   {"gateway:\n  trusted_proxies: [10.0.0.0/8, bogus]\n", "gateway.trusted_proxies[1]"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, nil, nil, c.yaml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestRouteTimeoutsAndAutoBanDecode(t *testing.T) {
	o, err := load(t, nil, nil, "services:\n  - {name: s}\nroutes:\n  - path: /\n    service: s\n    timeouts: {connect: 250ms, response: 5s}\n    auto_ban: {after: 5, within: 1m, for: 10m}\n")
	if err != nil {
		t.Fatal(err)
	}
	r := o.Routes[0]
	if r.Timeouts.Connect.D() != 250*time.Millisecond || r.Timeouts.Response.D() != 5*time.Second || r.AutoBan == nil || r.AutoBan.For.D() != 10*time.Minute {
		t.Fatalf("%+v", r)
	}
}
