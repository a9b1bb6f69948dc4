package adminapi_test

import "testing"

// Rewrites and segment matching are validated like every route field: a bad
// one is a 400 naming the field, and changes nothing.
func TestRouteRewritesAreValidatedNamingTheField(t *testing.T) {
	s := newServer(t)
	want(t, s.do(t, "PUT", "/api/v1/gateway/services/shop", `{"instances":[{"addr":"127.0.0.1:9"}]}`), 201, `"version":1`)
	cases := []struct{ body, field string }{
		{`{"path":"/shop","service":"shop","rewrite":{"prefix":"new/"}}`, `rewrite.prefix: must start with /`},
		{`{"path":"/shop","service":"shop","rewrite":{}}`, `rewrite.prefix: is required`},
		{`{"path":"/shop","service":"shop","rewrite":{"prefix":"/a/../b/"}}`, `rewrite.prefix: must not hold \"//\" or a \".\" or \"..\" segment`},
		{`{"path":"/shop","service":"shop","rewrite":{"prefix":"/a//b"}}`, `rewrite.prefix: must not hold \"//\"`},
		{`{"path":"/shop","service":"shop","rewrite":{"prefix":"/a\u0000"}}`, `rewrite.prefix: must hold only URI path characters`},
		{`{"path":"/shop","service":"shop","rewrite":{"prefix":"/a?b"}}`, `rewrite.prefix: must hold only URI path characters`},
		{`{"path":"/shop/","service":"shop","rewrite":{"prefix":"/new"}}`, `rewrite.prefix: must end with /`},
		{`{"path":"/shop","service":"shop","strip_prefix":true,"rewrite":{"prefix":"/new/"}}`, `strip_prefix: cannot be set together with rewrite`},
		{`{"path":"/x/","function":"api","strip_prefix":true}`, `strip_prefix: only routes to a service`},
		{`{"path":"/shop","service":"shop","match":"word"}`, `match: must be prefix or segment`},
		{`{"path":"/shop","service":"shop","strip_prefix":"yes"}`, `strip_prefix`},
		{`{"path":"/shop","service":"shop","rewrite":"/new/"}`, `rewrite`},
		{`{"path":"/x/","function":"api","pass_raw_path":true}`, `pass_raw_path: only routes to a service`},
		{`{"path":"/shop","service":"shop","strip_prefix":true,"pass_raw_path":true}`, `pass_raw_path: cannot be set together with strip_prefix or rewrite`},
		{`{"path":"/shop","service":"shop","pass_raw_path":"yes"}`, `pass_raw_path`},
	}
	for _, c := range cases {
		want(t, s.do(t, "PUT", "/api/v1/gateway/routes/shop", c.body), 400, c.field)
	}
	if v := s.configVersion(t); v != 1 {
		t.Fatalf("refused bodies changed the config: version %d", v)
	}
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/shop", `{"path":"/shop","service":"shop","match":"segment","rewrite":{"prefix":"/new/"}}`), 201, `"rewrite":{"prefix":"/new/"}`)
	want(t, s.do(t, "GET", "/api/v1/gateway/routes/shop", ""), 200, `"match":"segment"`)
	want(t, s.do(t, "PUT", "/api/v1/gateway/routes/raw", `{"path":"/raw/","service":"shop","pass_raw_path":true}`), 201, `"pass_raw_path":true`)
	want(t, s.do(t, "GET", "/api/v1/gateway/routes/raw", ""), 200, `"pass_raw_path":true`)
}
