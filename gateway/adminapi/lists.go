package adminapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/ident"
	"github.com/wharfhq/wharf/internal/store"
)

func (f *Function) getACL(r *fnapi.Request) error {
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	d = nonNil(d)
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "allow": d.ACL.Allow, "deny": d.ACL.Deny})
}

// ACLBody is the body of PUT /api/v1/gateway/acl.
type ACLBody struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
	// Force applies lists that lock out the caller or loopback.
	Force bool `json:"force,omitempty"`
}

func (f *Function) putACL(r *fnapi.Request) error {
	var body ACLBody
	if err := r.DecodeJSON(&body); err != nil {
		return err
	}
	d, err := f.update(r, "replace global acl", func(config.Edge) string { return "acl" }, body.Force || forced(r), func(e *config.Edge) error {
		e.ACL = config.ACLConfig{Allow: body.Allow, Deny: body.Deny}
		return nil
	})
	if err != nil {
		return err
	}
	d = nonNil(d)
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "allow": d.ACL.Allow, "deny": d.ACL.Deny})
}

// aclList returns the address of the global list named in the path.
func aclList(e *config.Edge, name string) (*[]string, error) {
	switch name {
	case "allow":
		return &e.ACL.Allow, nil
	case "deny":
		return &e.ACL.Deny, nil
	}
	return nil, httperr.NotFound("no ACL list %q (allow or deny)", name)
}

type cidrsBody struct {
	CIDRs []string `json:"cidrs"`
	// Force adds entries that lock out the caller or loopback.
	Force bool `json:"force,omitempty"`
}

func (f *Function) addACL(r *fnapi.Request) error {
	name := r.Params.Get("list")
	if _, err := aclList(&config.Edge{}, name); err != nil {
		return err
	}
	var body cidrsBody
	if err := r.DecodeJSON(&body); err != nil {
		return err
	}
	if len(body.CIDRs) == 0 {
		return httperr.BadRequest("cidrs: give at least one IP or CIDR")
	}
	force := body.Force || forced(r)
	guard := f.guarded(r)
	var locked []string
	for i, c := range body.CIDRs {
		p, err := parsePrefix(fmt.Sprintf("cidrs[%d]", i), c)
		if err != nil {
			return err
		}
		for _, a := range guard {
			if name == "deny" && p.Contains(a) {
				locked = append(locked, fmt.Sprintf("cidrs[%d]: %s would lock out %s", i, c, a))
			}
		}
	}
	if len(locked) > 0 && !force {
		return httperr.Conflict("%s", lockoutMessage(locked))
	}
	added := 0
	d, err := f.update(r, fmt.Sprintf("add %d to global %s list", len(body.CIDRs), name), nil, force, func(e *config.Edge) error {
		l, _ := aclList(e, name)
		for _, c := range body.CIDRs {
			if !slices.Contains(*l, c) {
				*l = append(*l, c)
				added++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "added": added})
}

func (f *Function) removeACL(r *fnapi.Request) error {
	name := r.Params.Get("list")
	if _, err := aclList(&config.Edge{}, name); err != nil {
		return err
	}
	c := string(r.Ctx.QueryArgs().Peek("cidr"))
	p, err := parsePrefix("cidr", c)
	if err != nil {
		return err
	}
	d, err := f.update(r, fmt.Sprintf("remove %s from global %s list", c, name), nil, forced(r), func(e *config.Edge) error {
		l, _ := aclList(e, name)
		before := len(*l)
		*l = slices.DeleteFunc(*l, func(x string) bool {
			q, err := cidr.Parse(x)
			return x == c || err == nil && q == p
		})
		if len(*l) == before {
			return httperr.NotFound("%s is not on the global %s list", c, name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "removed": c})
}

// BanBody is the body of POST /api/v1/gateway/bans.
type BanBody struct {
	Prefix string          `json:"prefix"`
	TTL    config.Duration `json:"ttl"`
	Reason string          `json:"reason"`
	Route  string          `json:"route"`
	// Force places a ban that covers the caller or loopback.
	Force bool `json:"force,omitempty"`
}

func (f *Function) ban(r *fnapi.Request) error {
	var body BanBody
	if err := r.DecodeJSON(&body); err != nil {
		return err
	}
	p, err := parsePrefix("prefix", body.Prefix)
	if err != nil {
		return err
	}
	ttl := time.Duration(body.TTL)
	if ttl <= 0 {
		return httperr.BadRequest("ttl: must be a positive duration like \"10m\"")
	}
	if ttl > f.opts.MaxBanTTL {
		return httperr.BadRequest("ttl: must be at most %s", f.opts.MaxBanTTL)
	}
	if len(body.Reason) > 500 || !ident.Printable(body.Reason) {
		return httperr.BadRequest("reason: at most 500 bytes without control characters")
	}
	if err := f.checkBanRoute(r, body.Route); err != nil {
		return err
	}
	p = f.opts.Bans.Covered(p)
	if !body.Force && !forced(r) {
		var locked []string
		for _, a := range f.guarded(r) {
			if p.Contains(a) {
				locked = append(locked, fmt.Sprintf("prefix: %s would lock out %s", p, a))
			}
		}
		if len(locked) > 0 {
			return httperr.Conflict("%s", lockoutMessage(locked))
		}
	}
	b, err := f.opts.Bans.BanWith(r.Context(), acl.BanRequest{Prefix: p, TTL: ttl, Reason: body.Reason, By: r.Principal.Name, Route: body.Route})
	if err != nil {
		return httperr.Unavailable(err, "cannot place ban: store unavailable")
	}
	r.Log.Info("ban placed", "prefix", b.Prefix.String(), "ttl", ttl.String(), "route", b.Route, "reason", b.Reason, "by", r.Principal.Name, "forced", body.Force || forced(r))
	return r.JSON(fasthttp.StatusCreated, b)
}

func (f *Function) listBans(r *fnapi.Request) error {
	bans, err := f.opts.Bans.List(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot list bans: store unavailable")
	}
	if bans == nil {
		bans = []acl.Ban{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"bans": bans})
}

func (f *Function) unban(r *fnapi.Request) error {
	p, err := parsePrefix("prefix", string(r.Ctx.QueryArgs().Peek("prefix")))
	if err != nil {
		return err
	}
	route := string(r.Ctx.QueryArgs().Peek("route"))
	if route != "" && !ident.Printable(route) {
		return httperr.BadRequest("route: must not hold control characters, got %q", route)
	}
	p = f.opts.Bans.Covered(p)
	err = f.opts.Bans.UnbanRoute(r.Context(), route, p)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httperr.NotFound("no ban of %s", p)
	case err != nil:
		return httperr.Unavailable(err, "cannot lift ban: store unavailable")
	}
	r.Log.Info("ban lifted", "prefix", p.String(), "route", route, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, map[string]any{"unbanned": p.String(), "route": route})
}

// checkBanRoute refuses a ban on a route that does not exist (it would
// silently ban nothing): the route must be in the edge config or be one
// of the gateway's built-in routes.
func (f *Function) checkBanRoute(r *fnapi.Request, route string) error {
	if route == "" {
		return nil
	}
	if !ident.Name(route) {
		return httperr.BadRequest("route: route names are %s, got %q", ident.NameRule, route)
	}
	if slices.Contains(config.BuiltinRouteNames(), route) {
		return nil
	}
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	if !slices.ContainsFunc(d.Routes, func(rt config.RouteConfig) bool { return rt.Name == route }) {
		return httperr.BadRequest("route: unknown route %q; see GET /api/v1/gateway/routes (built-in: %s)", route, strings.Join(config.BuiltinRouteNames(), ", "))
	}
	return nil
}
