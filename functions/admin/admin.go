// Package admin is the function behind Wharf's token API and whoami:
//
//	GET    /api/v1/whoami          any token: the caller's token id, name, scopes and teams, and the server's version (never a secret)
//	POST   /api/v1/tokens          admin: create a token (plaintext shown once)
//	GET    /api/v1/tokens          admin: list tokens (never their secrets)
//	DELETE /api/v1/tokens/{id}     admin: revoke a token
//	GET    /api/v1/nodes           admin: the Wharf processes running now (package nodes)
package admin

import (
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Function serves the token API.
type Function struct {
	tokens  *auth.Service
	version string
	nodes   store.Store
}

// Options configure the admin function.
type Options struct {
	// Version is the server's version, shown by whoami.
	Version string
	// Nodes is the store the node records live in (nil: GET /api/v1/nodes
	// answers an empty list).
	Nodes store.Store
}

// New returns the admin function over a token service.
func New(tokens *auth.Service, opts Options) *Function {
	return &Function{tokens: tokens, version: opts.Version, nodes: opts.Nodes}
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "admin" }

// Routes implements fnapi.Function.
func (f *Function) Routes() []fnapi.Route {
	return []fnapi.Route{
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/whoami", Access: fnapi.AnyToken(), Handler: f.whoami},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/tokens", Access: fnapi.AdminOnly(), Handler: f.create},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/tokens", Access: fnapi.AdminOnly(), Handler: f.list},
		{Method: fasthttp.MethodDelete, Pattern: "/api/v1/tokens/{id}", Access: fnapi.AdminOnly(), Handler: f.revoke},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/nodes", Access: fnapi.AdminOnly(), Handler: f.listNodes},
	}
}

// CreateRequest is the body of POST /api/v1/tokens. Team is a shorthand for
// the scope team:<name>.
type CreateRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	Team   string   `json:"team"`
}

// CreateResponse is the created token; Token is the plaintext, shown only here.
type CreateResponse struct {
	auth.Token
	Secret string `json:"token"`
}

func (f *Function) create(r *fnapi.Request) error {
	var req CreateRequest
	if err := r.DecodeJSON(&req); err != nil {
		return err
	}
	scopes := req.Scopes
	if req.Team != "" {
		if !auth.ValidName(req.Team) {
			return httperr.BadRequest("invalid team name %q: use 1-63 of a-z, 0-9, '-', '_'", req.Team)
		}
		scopes = append(scopes, auth.TeamScope(req.Team))
	}
	if req.Name == "" && req.Team == "" {
		return httperr.BadRequest("name is required (or give a team, whose name the token takes)")
	}
	if req.Name == "" {
		req.Name = req.Team
	}
	cr := auth.CreateRequest{Name: req.Name, Scopes: scopes, CreatedBy: r.Principal.Name}
	if err := cr.Validate(); err != nil {
		return httperr.BadRequest("%s", err.Error())
	}
	tok, plain, err := f.tokens.Create(r.Context(), cr)
	if err != nil {
		return httperr.Unavailable(err, "cannot create token: store unavailable")
	}
	r.Log.Info("token created", "id", tok.ID, "name", tok.Name, "scopes", strings.Join(tok.Scopes, ","), "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusCreated, CreateResponse{Token: tok, Secret: plain})
}

func (f *Function) list(r *fnapi.Request) error {
	toks, err := f.tokens.List(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot list tokens: store unavailable")
	}
	if toks == nil {
		toks = []auth.Token{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"tokens": toks})
}

func (f *Function) revoke(r *fnapi.Request) error {
	id := r.Params.Get("id")
	err := f.tokens.Revoke(r.Context(), id)
	switch {
	case errors.Is(err, auth.ErrTokenNotFound):
		return httperr.NotFound("token %q not found", id)
	case errors.Is(err, auth.ErrLastAdmin):
		return httperr.Conflict("refusing to revoke %q: it is the last admin token; create another admin token first", id)
	case err != nil:
		return httperr.Unavailable(err, "cannot revoke token: store unavailable")
	}
	r.Log.Info("token revoked", "id", id, "by", r.Principal.Name)
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
