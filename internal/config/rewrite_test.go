package config

import (
	"strings"
	"testing"
)

func TestRouteRewriteConfig(t *testing.T) {
	t.Parallel()
	o, err := load(t, nil, nil, `
services:
  - {name: shop, instances: [{addr: "127.0.0.1:9001"}]}
routes:
  - {name: a, path: /shop, service: shop, match: segment, strip_prefix: true}
  - {name: b, path: /old/, service: shop, rewrite: {prefix: /new/}}
  - {name: c, path: /x, service: shop, match: prefix}
`)
	if err != nil {
		t.Fatal(err)
	}
	r := o.Routes
	if !r[0].StripPrefix || r[0].Match != MatchSegment || r[1].Rewrite == nil || r[1].Rewrite.Prefix != "/new/" || r[2].Match != MatchPrefix {
		t.Fatalf("%+v", r)
	}
	if p, ok := r[0].RewritePrefix(); !ok || p != "/" {
		t.Fatalf("strip_prefix is the rewrite to /: %q %v", p, ok)
	}
	if p, ok := r[1].RewritePrefix(); !ok || p != "/new/" {
		t.Fatalf("%q %v", p, ok)
	}
	if _, ok := r[2].RewritePrefix(); ok {
		t.Fatal("a route without rewrite rewrites")
	}
}

func TestRouteRewriteErrorsNameTheField(t *testing.T) {
	t.Parallel()
	base := "services:\n  - {name: shop, instances: [{addr: \"127.0.0.1:1\"}]}\n"
	cases := map[string]struct{ yaml, want string }{
		"relative prefix": {base + "routes:\n  - {path: /shop, service: shop, rewrite: {prefix: new}}\n", `routes[0].rewrite.prefix: must start with /`},
		"empty prefix":    {base + "routes:\n  - {path: /shop, service: shop, rewrite: {}}\n", `routes[0].rewrite.prefix: is required`},
		"both":            {base + "routes:\n  - {path: /shop, service: shop, strip_prefix: true, rewrite: {prefix: /new/}}\n", `routes[0].strip_prefix: cannot be set together with rewrite`},
		"function":        {"routes:\n  - {path: /x/, function: api, strip_prefix: true}\n", `routes[0].strip_prefix: only routes to a service`},
		"function rw":     {"routes:\n  - {path: /x/, function: api, rewrite: {prefix: /y/}}\n", `routes[0].rewrite: only routes to a service`},
		"match":           {base + "routes:\n  - {path: /shop, service: shop, match: exact}\n", `routes[0].match: must be prefix or segment, got "exact"`},
		"raw function":    {"routes:\n  - {path: /x/, function: api, pass_raw_path: true}\n", `routes[0].pass_raw_path: only routes to a service`},
		"raw and strip":   {base + "routes:\n  - {path: /shop, service: shop, pass_raw_path: true, strip_prefix: true}\n", `routes[0].pass_raw_path: cannot be set together with strip_prefix or rewrite`},
		"raw and rewrite": {base + "routes:\n  - {path: /shop, service: shop, pass_raw_path: true, rewrite: {prefix: /n/}}\n", `routes[0].pass_raw_path: cannot be set together`},
	}
	for name, c := range cases {
		_, err := load(t, nil, nil, c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}
