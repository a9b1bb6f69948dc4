package fnapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/httperr"
)

type compiled struct {
	fn       string
	method   string
	segments []string // "{name}" marks a parameter
	param    []bool   // param[i]: segments[i] is a parameter
	route    Route
	// log is the Mux's logger with the function's name, built once here
	// rather than per request.
	log *slog.Logger
}

// Mux routes requests to function handlers.
type Mux struct {
	routes []compiled
	authn  Authenticator
	// literal maps the path (without its outer slashes) of each route
	// without parameters to the indexes in routes of the routes with that
	// pattern, in order (see indexLiterals).
	literal map[string][]int
	// authnBytes is authn when it checks tokens without a copy, else nil.
	authnBytes BytesAuthenticator
	log        *slog.Logger
	// ctx is the parent of every handler's Request.Context; Close ends it.
	// It is not the fasthttp.RequestCtx: deriving contexts from that one
	// races with the server's shutdown inside fasthttp v1.74.
	ctx    context.Context
	cancel context.CancelFunc
	// bodies are the reused body buffers of BodyNotKept routes.
	bodies bodylimit.Buffers
}

// NewMux returns an empty Mux that checks tokens with authn.
func NewMux(authn Authenticator, log *slog.Logger) *Mux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mux{authn: authn, log: log, ctx: ctx, cancel: cancel}
	m.authnBytes, _ = authn.(BytesAuthenticator)
	return m
}

// Close ends the context handlers got from Request.Context, so calls still
// running give up (the gateway calls it after draining).
func (m *Mux) Close() { m.cancel() }

func split(path string) []string {
	return strings.Split(strings.Trim(path, "/"), "/")
}

// Register adds a function's routes; a route that duplicates another is an error.
func (m *Mux) Register(f Function) error {
	for _, r := range f.Routes() {
		if r.Handler == nil || r.Method == "" || !strings.HasPrefix(r.Pattern, "/") {
			return fmt.Errorf("cannot register %s %s of %s: incomplete route", r.Method, r.Pattern, f.Name())
		}
		c := compiled{fn: f.Name(), method: r.Method, segments: split(r.Pattern), route: r, log: m.log.With("function", f.Name())}
		c.param = make([]bool, len(c.segments))
		for i, s := range c.segments {
			c.param[i] = isParam(s)
		}
		for _, o := range m.routes {
			if o.method == c.method && samePattern(o.segments, c.segments) {
				return fmt.Errorf("cannot register %s %s of %s: already registered by %s", r.Method, r.Pattern, f.Name(), o.fn)
			}
		}
		m.routes = append(m.routes, c)
	}
	// Literal segments beat parameters: sort so more literal routes match first.
	sort.SliceStable(m.routes, func(i, j int) bool { return literalScore(m.routes[i].segments) > literalScore(m.routes[j].segments) })
	m.indexLiterals()
	return nil
}

// indexLiterals rebuilds literal. A path that equals a route without
// parameters can match no route before it in the order but the routes of
// the same pattern (any other route of as many segments has fewer
// literals and sorts after it), so serving the first of those whose
// method fits is what the scan of every route would do.
func (m *Mux) indexLiterals() {
	m.literal = map[string][]int{}
	for i, c := range m.routes {
		if literalScore(c.segments) == len(c.segments) {
			k := strings.Join(c.segments, "/")
			m.literal[k] = append(m.literal[k], i)
		}
	}
}

func isParam(s string) bool { return len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' }

func samePattern(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(isParam(a[i]) && isParam(b[i])) {
			return false
		}
	}
	return true
}

func literalScore(segs []string) int {
	n := 0
	for _, s := range segs {
		if !isParam(s) {
			n++
		}
	}
	return n
}

// match returns the params if path matches the segments. path is the
// request's decoded path (fasthttp's ctx.Path() has already turned
// percent-escapes into bytes), so parameter values are used as they are:
// unescaping them again would turn "100%25" into a 404 and "a%2525b" into "a%b".
//
// It allocates only for a match with parameters, once: a first pass checks
// the path and counts them, a second fills a slice of that size.
func match(segs []string, path string) (Params, bool) {
	n, ok := scan(segs, path, nil)
	if !ok || n == 0 {
		return nil, ok
	}
	ps := make(Params, 0, n)
	scan(segs, path, &ps)
	return ps, true
}

// scan matches path against segs and counts the parameters, appending
// them to out unless it is nil.
func scan(segs []string, path string, out *Params) (int, bool) {
	n := 0
	rest := strings.Trim(path, "/")
	for i, s := range segs {
		var part string
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
		} else {
			part, rest = rest, ""
			if i != len(segs)-1 {
				return 0, false
			}
		}
		if isParam(s) {
			if part == "" {
				return 0, false
			}
			n++
			if out != nil {
				*out = append(*out, Param{Name: s[1 : len(s)-1], Value: part})
			}
		} else if s != part {
			return 0, false
		}
	}
	return n, rest == ""
}

// Serve handles the request if a route's path matches and reports whether one
// did. A path match with the wrong method answers 405 with an Allow header.
func (m *Mux) Serve(ctx *fasthttp.RequestCtx, requestID string) bool {
	return m.ServeFunction(AllFunctions, ctx, requestID, DefaultMaxBody)
}

// DefaultMaxBody is the body limit of Serve.
const DefaultMaxBody = 4 << 20

// MaxBufferedBody bounds the body the Mux reads into memory for a route
// without StreamBody, even on a route whose limit is larger (the built-in
// artifacts route allows 8 GiB for streamed pushes): 413 beyond it.
const MaxBufferedBody = 16 << 20

// AllFunctions as ServeFunction's name considers the routes of every
// registered function.
const AllFunctions = "api"

// HasFunction reports whether a function of that name is registered (or name
// is AllFunctions).
func (m *Mux) HasFunction(name string) bool {
	if name == AllFunctions {
		return true
	}
	for i := range m.routes {
		if m.routes[i].fn == name {
			return true
		}
	}
	return false
}

// ServeFunction is Serve restricted to the routes of the function called
// name (all functions for AllFunctions), with a request body limit of
// maxBody bytes.
func (m *Mux) ServeFunction(name string, ctx *fasthttp.RequestCtx, requestID string, maxBody int64) bool {
	method := ctx.Method() // compared without a copy; a string only for a 405
	c, ps, allow := m.lookup(name, method, ctx.Path())
	if c != nil {
		m.serve(c, ps, ctx, requestID, maxBody)
		return true
	}
	if len(allow) > 0 {
		sort.Strings(allow)
		// Overlapping patterns (/a/{id} and /{kind}/b) can match with the same method.
		allow = slices.Compact(allow)
		err := httperr.New(fasthttp.StatusMethodNotAllowed, "method %s not allowed; use %s", string(method), strings.Join(allow, ", "))
		err.Headers = map[string]string{"Allow": strings.Join(allow, ", ")}
		httperr.Write(ctx, m.log, requestID, err)
		return true
	}
	return false
}

// lookup returns the route of function name (AllFunctions: any) that
// serves method on path, with its parameters, or nil and the methods of
// the routes whose path matched. A path equal to a route without
// parameters is one map lookup that allocates nothing (see literal);
// other paths are matched route by route (scan).
func (m *Mux) lookup(name string, method, path []byte) (*compiled, Params, []string) {
	if idx, ok := m.literal[string(bytes.Trim(path, "/"))]; ok {
		for _, i := range idx {
			c := &m.routes[i]
			if (name == AllFunctions || c.fn == name) && methodServes(c.method, method) {
				return c, nil, nil
			}
		}
	}
	return m.scan(name, method, string(path))
}

// scan is lookup's match of path against every route in order: the first
// one whose path and method match serves the request.
func (m *Mux) scan(name string, method []byte, path string) (*compiled, Params, []string) {
	var pp pathParts
	splitPath(path, &pp)
	var allow []string
	for i := range m.routes {
		c := &m.routes[i]
		if name != AllFunctions && c.fn != name {
			continue
		}
		ps, ok := matchParts(c, &pp, path)
		if !ok {
			continue
		}
		if !methodServes(c.method, method) {
			allow = append(allow, c.method)
			continue
		}
		return c, ps, nil
	}
	return nil, nil, allow
}

// methodServes reports whether a route of method serves a request with
// method got (a GET route serves HEAD too).
func methodServes(method string, got []byte) bool {
	return method == string(got) || string(got) == fasthttp.MethodHead && method == fasthttp.MethodGet
}

// serve checks the caller, reads the body and runs route c's handler.
func (m *Mux) serve(c *compiled, ps Params, ctx *fasthttp.RequestCtx, requestID string, maxBody int64) {
	req := &Request{Ctx: ctx, Params: ps, RequestID: requestID, Log: c.log, MaxBody: maxBody, ctx: m.ctx}
	if err := m.authorize(req, c.route.Access); err != nil {
		httperr.Write(ctx, m.log, requestID, err)
		return
	}
	var reused []byte
	if !c.route.StreamBody {
		// Buffered bodies are JSON requests: never held in memory past
		// MaxBufferedBody, whatever the route allows for streamed uploads.
		var he *httperr.Error
		if c.route.BodyNotKept {
			reused, he = bodylimit.ReadReusing(ctx, min(maxBody, MaxBufferedBody), &m.bodies)
		} else {
			he = bodylimit.Read(ctx, min(maxBody, MaxBufferedBody))
		}
		if he != nil {
			httperr.Write(ctx, m.log, requestID, he)
			return
		}
	}
	err := m.call(c, req)
	if reused != nil {
		ctx.Request.ResetBody()
		m.bodies.Put(reused)
	}
	if err != nil {
		httperr.Write(ctx, req.Log, requestID, err)
	}
}

// call runs the handler; a panic becomes a 500 instead of a crash.
func (m *Mux) call(c *compiled, req *Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler %s %s panicked: %v", c.method, c.route.Pattern, p)
		}
	}()
	return c.route.Handler(req)
}

func (m *Mux) authorize(req *Request, a Access) error {
	if a.Public {
		return nil
	}
	tok, ok := auth.BearerTokenBytes(req.Ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
	if !ok {
		return httperr.Unauthorized("missing bearer token: send Authorization: Bearer <token>")
	}
	var p auth.Principal
	var err error
	if m.authnBytes != nil {
		p, err = m.authnBytes.AuthenticateBytes(req.ctx, tok)
	} else {
		p, err = m.authn.Authenticate(req.ctx, string(tok))
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		return httperr.Unauthorized("invalid or revoked token")
	}
	if err != nil {
		return httperr.Unavailable(err, "cannot check token: store unavailable")
	}
	req.Principal = p
	var need []string
	if a.Scopes != nil {
		need = a.Scopes(req.Params)
	}
	if !p.Allows(need...) {
		return httperr.Forbidden("token %q lacks scope: need one of %s", p.Name, strings.Join(need, ", "))
	}
	return nil
}
