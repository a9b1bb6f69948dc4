// Package fnapi is the small interface between the gateway and Wharf's
// functions: a function lists its routes (method, path pattern, who may call
// it, handler), a Mux matches requests to them, checks the bearer token and
// scopes, and maps handler errors to JSON through httperr. The gateway never
// imports a function's package; cmd wires functions into a Mux.
package fnapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/strictjson"
)

// Function is a named set of routes.
type Function interface {
	Name() string
	Routes() []Route
}

// Access says who may call a route.
type Access struct {
	// Public routes need no token.
	Public bool
	// Scopes returns the scopes of which the caller must hold one (admin holds
	// all); nil or an empty result admits any valid token.
	Scopes func(p Params) []string
}

// AdminOnly admits admin tokens.
func AdminOnly() Access {
	need := []string{auth.ScopeAdmin} // one slice for every call, not one per request
	return Access{Scopes: func(Params) []string { return need }}
}

// AnyToken admits any valid token.
func AnyToken() Access { return Access{} }

// Public admits anybody.
func Public() Access { return Access{Public: true} }

// Route is one endpoint of a function.
type Route struct {
	Method string
	// Pattern is a path with {name} segments, e.g. /api/v1/tokens/{id}.
	Pattern string
	Access  Access
	Handler func(r *Request) error
	// StreamBody leaves the request body unread for the handler to stream
	// with Request.BodyStream; otherwise the Mux reads it (capped at the
	// route's limit, 413 beyond) before calling the handler.
	StreamBody bool
	// BodyNotKept says the handler keeps nothing of the request body once
	// it returns (no view of PostBody in a goroutine, cache or reply that
	// outlives it): the Mux then reads the body into a buffer it reuses
	// for later requests.
	BodyNotKept bool
}

// Authenticator turns a bearer token into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

// BytesAuthenticator is an Authenticator that can check a token still in
// the request's buffer without copying it (auth.Cache); the Mux uses it
// when its Authenticator has it. The token must not be kept.
type BytesAuthenticator interface {
	AuthenticateBytes(ctx context.Context, token []byte) (auth.Principal, error)
}

// Request is what a handler gets.
type Request struct {
	Ctx       *fasthttp.RequestCtx
	Params    Params
	Principal auth.Principal
	RequestID string
	Log       *slog.Logger
	// MaxBody is the route's request body limit in bytes. Unless the route
	// has StreamBody, the body was already read (at most MaxBody bytes) and
	// Ctx.PostBody() holds it.
	MaxBody int64
	ctx     context.Context
}

// BodyStream returns the request body as a stream of at most MaxBody bytes,
// for routes with StreamBody (large uploads pass through without being held
// in memory). Reading past MaxBody fails with fasthttp.ErrBodyTooLarge; map
// a read error with bodylimit.HTTPError.
func (r *Request) BodyStream() (io.Reader, error) {
	rd, he := bodylimit.Stream(r.Ctx, r.MaxBody)
	if he != nil {
		return nil, he
	}
	return rd, nil
}

// Context returns the context for the calls a handler makes: it ends when
// the Mux is closed. Give every store or bus call its own timeout on top.
func (r *Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// DecodeJSON decodes the body strictly (unknown fields, duplicate keys and
// trailing data are errors; see strictjson) into v, or returns a 400 naming
// the problem.
func (r *Request) DecodeJSON(v any) error {
	body := r.Ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return httperr.BadRequest("request body must be a JSON object")
	}
	if err := strictjson.Decode(body, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var de *strictjson.DuplicateKeyError
		switch {
		case errors.As(err, &de):
			return httperr.BadRequest("%v; give each key once", de)
		case errors.Is(err, strictjson.ErrTrailingData):
			return httperr.BadRequest("request body must hold one JSON object")
		case errors.As(err, &se):
			return httperr.BadRequest("invalid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te) && te.Field == "":
			return httperr.BadRequest("request body must be %s, not %s", describeType(te.Type), te.Value)
		case errors.As(err, &te):
			return httperr.BadRequest("field %q must be %s", te.Field, describeType(te.Type))
		default:
			return httperr.BadRequest("invalid request body: %v", err)
		}
	}
	return nil
}

// describeType names a decoding target in JSON terms for composite types
// (whose Go names mean nothing to a client) and by its Go name otherwise.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a JSON array"
	}
	return t.String()
}

// JSON writes v with a status.
func (r *Request) JSON(status int, v any) error {
	httperr.WriteJSON(r.Ctx, status, v)
	return nil
}

// RawJSON writes body, a JSON document the handler encoded itself (hot
// answers skip encoding/json's reflection), with a status. body is copied:
// the handler may reuse its buffer.
func (r *Request) RawJSON(status int, body []byte) error {
	r.Ctx.SetStatusCode(status)
	r.Ctx.SetContentType("application/json")
	r.Ctx.SetBody(body)
	return nil
}

// Param is one path parameter.
type Param struct{ Name, Value string }

// Params are a route's path parameters.
type Params []Param

// Get returns a parameter's value or "".
func (ps Params) Get(name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
