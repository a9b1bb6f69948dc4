package adminapi

import (
	"fmt"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// kindOf returns the named object list of the edge config in the path:
// routes, services or limits.
func kindOf(r *fnapi.Request) (string, error) {
	k := r.Params.Get("kind")
	if k != "routes" && k != "services" && k != "limits" {
		return "", httperr.NotFound("no such gateway collection %q (routes, services, limits, acl, bans, config, history, stats)", k)
	}
	return k, nil
}

// index returns the position of name in the kind's list, or -1.
func index(e config.Edge, kind, name string) int {
	switch kind {
	case "routes":
		return slices.IndexFunc(e.Routes, func(x config.RouteConfig) bool { return x.Name == name })
	case "services":
		return slices.IndexFunc(e.Services, func(x config.ServiceConfig) bool { return x.Name == name })
	default:
		return slices.IndexFunc(e.Limits, func(x config.LimitConfig) bool { return x.Name == name })
	}
}

func item(e config.Edge, kind string, i int) any {
	switch kind {
	case "routes":
		return e.Routes[i]
	case "services":
		return e.Services[i]
	default:
		return e.Limits[i]
	}
}

func singular(kind string) string { return kind[:len(kind)-1] }

func (f *Function) list(r *fnapi.Request) error {
	kind, err := kindOf(r)
	if err != nil {
		return err
	}
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	d = nonNil(d)
	var items any
	switch kind {
	case "routes":
		items = d.Routes
	case "services":
		items = d.Services
	default:
		items = d.Limits
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, kind: items})
}

func (f *Function) get(r *fnapi.Request) error {
	kind, err := kindOf(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	i := index(d.Edge, kind, name)
	if i < 0 {
		return httperr.NotFound("%s %q not found", singular(kind), name)
	}
	return versionResponse(r, fasthttp.StatusOK, d, item(d.Edge, kind, i))
}

// put creates or replaces one object. The body is the object; its name, if
// given, must equal the one in the path.
func (f *Function) put(r *fnapi.Request) error {
	kind, err := kindOf(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	var obj any
	var bodyName *string
	switch kind {
	case "routes":
		var v config.RouteConfig
		obj, bodyName = &v, &v.Name
	case "services":
		var v config.ServiceConfig
		obj, bodyName = &v, &v.Name
	default:
		var v config.LimitConfig
		obj, bodyName = &v, &v.Name
	}
	if err := r.DecodeJSON(obj); err != nil {
		return err
	}
	if *bodyName != "" && *bodyName != name {
		return httperr.BadRequest("name: %q in the body differs from %q in the path", *bodyName, name)
	}
	*bodyName = name
	if v, ok := obj.(*config.ServiceConfig); ok {
		if err := f.checkServiceTeam(r, *v); err != nil {
			return err
		}
	}
	created := false
	where := func(e config.Edge) string { return fmt.Sprintf("%s[%d]", kind, index(e, kind, name)) }
	d, err := f.update(r, fmt.Sprintf("put %s %s", singular(kind), name), where, forced(r), func(e *config.Edge) error {
		i := index(*e, kind, name)
		created = i < 0
		switch v := obj.(type) {
		case *config.RouteConfig:
			if created {
				e.Routes = append(e.Routes, *v)
			} else {
				e.Routes[i] = *v
			}
		case *config.ServiceConfig:
			if created {
				e.Services = append(e.Services, *v)
			} else {
				e.Services[i] = *v
			}
		case *config.LimitConfig:
			if created {
				e.Limits = append(e.Limits, *v)
			} else {
				e.Limits[i] = *v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	return versionResponse(r, status, d, item(d.Edge, kind, index(d.Edge, kind, name)))
}

// del removes an object; a limit or service still named by a route is
// refused with 409 naming the routes.
func (f *Function) del(r *fnapi.Request) error {
	kind, err := kindOf(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	d, err := f.update(r, fmt.Sprintf("delete %s %s", singular(kind), name), nil, forced(r), func(e *config.Edge) error {
		i := index(*e, kind, name)
		if i < 0 {
			return httperr.NotFound("%s %q not found", singular(kind), name)
		}
		if users := usedBy(*e, kind, name); len(users) > 0 {
			return httperr.Conflict("%s %q is used by routes %v; change or delete them first", singular(kind), name, users)
		}
		switch kind {
		case "routes":
			e.Routes = slices.Delete(e.Routes, i, i+1)
		case "services":
			e.Services = slices.Delete(e.Services, i, i+1)
		default:
			e.Limits = slices.Delete(e.Limits, i, i+1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "deleted": name})
}

func usedBy(e config.Edge, kind, name string) []string {
	var out []string
	for _, rt := range e.Routes {
		if kind == "services" && rt.Service == name || kind == "limits" && slices.Contains(rt.Limits, name) {
			out = append(out, rt.Name)
		}
	}
	return out
}

// checkServiceTeam refuses a service named like an app that a team owns,
// unless the service grants its name to that team (its deploys register
// the service's instances) or the team is named like it: 409 naming the
// team, so the admin decides knowingly.
func (f *Function) checkServiceTeam(r *fnapi.Request, svc config.ServiceConfig) error {
	if f.opts.Hosts == nil {
		return nil
	}
	owner, err := f.opts.Hosts.Owner(r.Context(), svc.Name)
	if err != nil {
		return httperr.Unavailable(err, "cannot read the owner of app %q: store unavailable", svc.Name)
	}
	if owner == "" || owner == svc.Name || owner == svc.Team {
		return nil
	}
	return httperr.Conflict("service %q: app %q belongs to team %q, whose deploys register this service's instances; "+
		"set \"team\": %q to serve them, or choose another service name", svc.Name, svc.Name, owner, owner)
}
