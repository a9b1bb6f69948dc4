package fnapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/httperr"
)

type echoRequest struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	Inner struct {
		On bool `json:"on"`
	} `json:"inner"`
}

func echoFunction() Function {
	return testFunction{"echo", []Route{
		{Method: "POST", Pattern: "/echo", Access: AnyToken(), Handler: func(r *Request) error {
			var req echoRequest
			if err := r.DecodeJSON(&req); err != nil {
				return err
			}
			return r.JSON(fasthttp.StatusCreated, req)
		}},
	}}
}

func TestDecodeJSONOverHTTP(t *testing.T) {
	e := newEnv(t, echoFunction())
	r := e.do(t, "POST", "/echo", e.shop, `{"name":"x","count":3,"tags":["a","b"],"inner":{"on":true}}`)
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := decode[echoRequest](t, r)
	if got.Name != "x" || got.Count != 3 || len(got.Tags) != 2 || !got.Inner.On {
		t.Fatalf("decoded %+v", got)
	}
	// Surrounding whitespace is fine.
	if r := e.do(t, "POST", "/echo", e.shop, " \n\t{\"name\":\"y\"}\n\n "); r.status != 201 {
		t.Fatalf("whitespace around the object: %d %s", r.status, r.body)
	}

	tests := []struct {
		name, body, want string
	}{
		{"whitespace only", " \n\t ", "request body must be a JSON object"},
		{"syntax error", `{"name": x}`, "invalid JSON at byte"},
		{"single quotes", `{'name': 'x'}`, "invalid JSON at byte"},
		{"trailing comma", `{"name": "x",}`, "invalid JSON at byte"},
		{"truncated", `{"name": "x"`, "invalid request body"},
		{"unknown field", `{"name":"x","bogus":1}`, `unknown field "bogus"`},
		{"unknown nested field", `{"inner":{"off":true}}`, `unknown field "off"`},
		{"wrong type string for int", `{"count":"3"}`, `field "count" must be int`},
		{"wrong type number for string", `{"name":3}`, `field "name" must be string`},
		{"wrong type in array", `{"tags":[1]}`, `field "tags`},
		{"wrong type nested", `{"inner":{"on":"yes"}}`, `field "inner.on" must be bool`},
		{"float for int", `{"count":1.5}`, `field "count" must be int`},
		{"overflow", `{"count":1e100}`, `field "count" must be int`},
		{"array instead of object", `[1,2]`, "must be a JSON object"},
		{"string instead of object", `"x"`, "must be a JSON object"},
		{"number instead of object", `42`, "must be a JSON object"},
		{"two objects", `{"name":"a"}{"name":"b"}`, "one JSON object"},
		{"two objects with newline", "{\"name\":\"a\"}\n{\"name\":\"b\"}", "one JSON object"},
		{"object then garbage", `{"name":"a"} x`, "one JSON object"},
		{"object then stray brace", `{"name":"a"}}`, "one JSON object"},
		{"object then stray bracket", `{"name":"a"}]`, "one JSON object"},
		{"object then array", `{"name":"a"}[]`, "one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/echo", e.shop, tt.body)
			b := wantError(t, r, 400, tt.want)
			if strings.Contains(b.Error, "fnapi.") || strings.Contains(b.Error, "echoRequest") {
				t.Fatalf("400 names Go types: %q", b.Error)
			}
		})
	}
	// No body at all (the helper sends none for "").
	wantError(t, e.do(t, "POST", "/echo", e.shop, ""), 400, "request body must be a JSON object")
	// Decoding errors come after authentication.
	wantError(t, e.do(t, "POST", "/echo", "", `{"bogus":1}`), 401, "missing bearer token")
}

// decodeDirect runs DecodeJSON on a bare request context.
func decodeDirect(body string, v any) error {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetBodyString(body)
	r := &Request{Ctx: &ctx}
	return r.DecodeJSON(v)
}

func TestDecodeJSONErrorsAre400(t *testing.T) {
	for _, body := range []string{"", "{", "{}{}", `{"x":1}`, "[]", "null null"} {
		var v echoRequest
		err := decodeDirect(body, &v)
		var he *httperr.Error
		if !errors.As(err, &he) || he.Status != 400 || he.Message == "" {
			t.Errorf("DecodeJSON(%q) = %v, want a 400 *httperr.Error", body, err)
		}
	}
	// Other targets still work.
	var m map[string]int
	if err := decodeDirect(`{"a":1}`, &m); err != nil || m["a"] != 1 {
		t.Fatalf("map target: %v %v", m, err)
	}
	var s []int
	if err := decodeDirect(`[1,2]`, &s); err != nil || len(s) != 2 {
		t.Fatalf("slice target: %v %v", s, err)
	}
	if err := decodeDirect(`{"a":1}`, &s); err == nil || !strings.Contains(err.Error(), "must be a JSON array") {
		t.Fatalf("object into slice: %v", err)
	}
}

func TestRequestJSON(t *testing.T) {
	var ctx fasthttp.RequestCtx
	r := &Request{Ctx: &ctx}
	if err := r.JSON(202, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if ctx.Response.StatusCode() != 202 || string(ctx.Response.Header.ContentType()) != "application/json" ||
		string(ctx.Response.Body()) != "{\"a\":\"b\"}\n" {
		t.Fatalf("%d %q %q", ctx.Response.StatusCode(), ctx.Response.Header.ContentType(), ctx.Response.Body())
	}
	// Never the fasthttp.RequestCtx: contexts derived from it race with the
	// server's shutdown inside fasthttp.
	if r.Context() == context.Context(&ctx) || r.Context() == nil {
		t.Fatal("Context must not be the fasthttp request context")
	}
}

func TestMuxCloseEndsHandlerContexts(t *testing.T) {
	m := NewMux(nil, nil)
	r := &Request{ctx: m.ctx}
	m.Close()
	select {
	case <-r.Context().Done():
	default:
		t.Fatal("Close did not end the handlers' context")
	}
}

func TestAccessHelpers(t *testing.T) {
	if !Public().Public || AnyToken().Public || AnyToken().Scopes != nil {
		t.Fatal("Public/AnyToken")
	}
	a := AdminOnly()
	if a.Public || a.Scopes == nil {
		t.Fatal("AdminOnly")
	}
	if got := a.Scopes(nil); len(got) != 1 || got[0] != auth.ScopeAdmin {
		t.Fatalf("AdminOnly scopes %q", got)
	}
}

func TestRequestCarriesPrincipalAndLogger(t *testing.T) {
	var seen *Request
	e := newEnv(t, testFunction{"who", []Route{
		{Method: "GET", Pattern: "/who/{x}", Access: AnyToken(), Handler: func(r *Request) error {
			seen = &Request{Params: r.Params, Principal: r.Principal, RequestID: r.RequestID, Log: r.Log}
			return r.JSON(200, r.Principal)
		}},
	}})
	r := e.do(t, "GET", "/who/1", e.shop, "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	p := decode[auth.Principal](t, r)
	if p.Name != "shop" || len(p.Scopes) != 1 || p.Scopes[0] != "team:shop" || p.TokenID == "" {
		t.Fatalf("principal %+v", p)
	}
	if seen == nil || seen.Log == nil || seen.RequestID != r.header["X-Request-Id"] || seen.Params.Get("x") != "1" {
		t.Fatalf("request %+v", seen)
	}
}
