package adminapi

import (
	"errors"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// agentOrAdmin admits agent tokens (deploy agents and instances that
// register themselves) and admins.
func agentOrAdmin() fnapi.Access {
	return fnapi.Access{Scopes: func(fnapi.Params) []string { return []string{auth.ScopeAgent} }}
}

// InstanceBody is the body of PUT /api/v1/services/{svc}/instances/{id}: a
// registration or a heartbeat (the same call refreshes the TTL and load).
type InstanceBody struct {
	Addr    string            `json:"addr"`
	Room    string            `json:"room"`
	Weight  int               `json:"weight"`
	Labels  map[string]string `json:"labels"`
	Version string            `json:"version"`
	Load    *registry.Load    `json:"load"`
	// TTL is how long the registration lives without a heartbeat (default 10s).
	TTL config.Duration `json:"ttl"`
}

func (f *Function) putInstance(r *fnapi.Request) error {
	var body InstanceBody
	if err := r.DecodeJSON(&body); err != nil {
		return err
	}
	in := registry.Instance{
		Service: r.Params.Get("svc"), ID: r.Params.Get("id"), Addr: body.Addr, Room: body.Room,
		Weight: body.Weight, Labels: body.Labels, Version: body.Version, Load: body.Load,
	}
	stored, err := f.opts.Registry.Register(r.Context(), in, body.TTL.D())
	var fe *registry.FieldError
	switch {
	case errors.As(err, &fe):
		return httperr.BadRequest("%s", joinLines(err.Error()))
	case err != nil:
		return httperr.Unavailable(err, "cannot register instance: store unavailable")
	}
	resp := map[string]any{"instance": stored}
	if d, _, err := f.opts.Edge.Get(r.Context()); err == nil &&
		!slices.ContainsFunc(d.Services, func(s config.ServiceConfig) bool { return s.Name == in.Service }) {
		resp["warning"] = "service " + in.Service + " is not in the edge config: no route sends traffic to it yet"
	}
	return r.JSON(fasthttp.StatusOK, resp)
}

func (f *Function) deleteInstance(r *fnapi.Request) error {
	svc, id := r.Params.Get("svc"), r.Params.Get("id")
	err := f.opts.Registry.Deregister(r.Context(), svc, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httperr.NotFound("no instance %s of service %s", id, svc)
	case err != nil:
		return httperr.Unavailable(err, "cannot deregister instance: store unavailable")
	}
	r.Log.Info("instance deregistered", "service", svc, "id", id, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, map[string]any{"deregistered": id, "service": svc})
}

func (f *Function) listInstances(r *fnapi.Request) error {
	ins, err := f.opts.Registry.List(r.Context(), r.Params.Get("svc"))
	if err != nil {
		return httperr.Unavailable(err, "cannot list instances: store unavailable")
	}
	if ins == nil {
		ins = []registry.Instance{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"instances": ins})
}
