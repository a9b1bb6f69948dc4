package httperr

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"typed", Conflict("version %s exists", "1.0"), 409, "version 1.0 exists"},
		{"wrapped typed", errors.Join(errors.New("x"), Forbidden("nope")), 403, "nope"},
		{"plain", errors.New("db exploded: secret detail"), 500, "internal error"},
		{"unauthorized", Unauthorized("missing token"), 401, "missing token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			Write(&ctx, nil, "rid-1", c.err)
			if got := ctx.Response.StatusCode(); got != c.status {
				t.Fatalf("status %d, want %d", got, c.status)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var b struct{ Error, RequestID string }
			if err := json.Unmarshal(ctx.Response.Body(), &b); err != nil {
				t.Fatal(err)
			}
			if b.Error != c.msg || b.RequestID != "" && b.RequestID != "rid-1" {
				t.Fatalf("body %+v", b)
			}
			var raw map[string]any
			_ = json.Unmarshal(ctx.Response.Body(), &raw)
			if raw["request_id"] != "rid-1" {
				t.Fatalf("request_id missing: %s", ctx.Response.Body())
			}
		})
	}
	var ctx fasthttp.RequestCtx
	Write(&ctx, nil, "", Unauthorized("x"))
	if h := string(ctx.Response.Header.Peek("WWW-Authenticate")); h == "" {
		t.Fatal("no WWW-Authenticate on 401")
	}
}
