package adminapi

import (
	"errors"
	"net"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// agentOrAdmin admits agent tokens (deploy agents) and admins.
func agentOrAdmin() fnapi.Access {
	return fnapi.Access{Scopes: func(fnapi.Params) []string { return []string{auth.ScopeAgent} }}
}

// HostLabel is the instance label naming the deploy host an agent
// registers an instance for.
const HostLabel = "host"

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

// putInstance registers or refreshes an instance. Admins register
// anything; an agent token only an instance of an app deployed to one of
// its hosts (labels.host), on that host's advertised address, and not over
// another host's registration.
func (f *Function) putInstance(r *fnapi.Request) error {
	var body InstanceBody
	if err := r.DecodeJSON(&body); err != nil {
		return err
	}
	in := registry.Instance{
		Service: r.Params.Get("svc"), ID: r.Params.Get("id"), Addr: body.Addr, Room: body.Room,
		Weight: body.Weight, Labels: body.Labels, Version: body.Version, Load: body.Load,
	}
	var check func(*registry.Instance) error
	if !r.Principal.IsAdmin() {
		if err := in.Validate(); err != nil {
			return httperr.BadRequest("%s", joinLines(err.Error()))
		}
		host, err := f.agentHost(r, in)
		if err != nil {
			return err
		}
		check = func(old *registry.Instance) error {
			if old != nil && old.Labels[HostLabel] != host {
				return httperr.Forbidden("instance %q of service %q belongs to another host", in.ID, in.Service)
			}
			return nil
		}
	}
	stored, err := f.opts.Registry.RegisterIf(r.Context(), in, body.TTL.D(), check)
	var fe *registry.FieldError
	var he *httperr.Error
	switch {
	case errors.As(err, &fe):
		return httperr.BadRequest("%s", joinLines(err.Error()))
	case errors.As(err, &he):
		return he
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

// agentHost checks that an agent token may register in: its labels.host
// is a host bound to the token, a deploy of the service (the app of the
// same name) targeted that host, and the address is the host's advertised
// one. It returns the host.
func (f *Function) agentHost(r *fnapi.Request, in registry.Instance) (string, error) {
	if f.opts.Hosts == nil {
		return "", httperr.Forbidden("only admins may write the registry on this node")
	}
	host := in.Labels[HostLabel]
	if host == "" {
		return "", httperr.BadRequest("labels.host: agent tokens must name the deploy host the instance runs on")
	}
	ctx := r.Context()
	b, _, ok, err := f.opts.Hosts.Host(ctx, host)
	if err != nil {
		return "", httperr.Unavailable(err, "cannot register instance: store unavailable")
	}
	if !ok || b.TokenID != r.Principal.TokenID {
		return "", httperr.Forbidden("host %q is not bound to this agent token: send the host's heartbeat with it first", host)
	}
	placed, err := f.opts.Hosts.Placed(ctx, in.Service, host)
	if err != nil {
		return "", httperr.Unavailable(err, "cannot register instance: store unavailable")
	}
	if !placed {
		return "", httperr.Forbidden("service %q: no deploy of app %q targeted host %q", in.Service, in.Service, host)
	}
	if h, _, _ := net.SplitHostPort(in.Addr); !strings.EqualFold(h, b.Advertise) {
		return "", httperr.Forbidden("addr: instances of host %q are registered on its advertised address %q, got %q", host, b.Advertise, h)
	}
	return host, nil
}

// deleteInstance deregisters an instance at once. An agent token removes
// only instances of its own hosts; any other is the same 404 as one that
// does not exist.
func (f *Function) deleteInstance(r *fnapi.Request) error {
	svc, id := r.Params.Get("svc"), r.Params.Get("id")
	notFound := httperr.NotFound("no instance %s of service %s", id, svc)
	var check func(registry.Instance) error
	if !r.Principal.IsAdmin() {
		check = func(old registry.Instance) error {
			host := old.Labels[HostLabel]
			if host == "" || f.opts.Hosts == nil {
				return notFound
			}
			b, _, ok, err := f.opts.Hosts.Host(r.Context(), host)
			if err != nil {
				return httperr.Unavailable(err, "cannot deregister instance: store unavailable")
			}
			if !ok || b.TokenID != r.Principal.TokenID {
				return notFound
			}
			return nil
		}
	}
	err := f.opts.Registry.DeregisterIf(r.Context(), svc, id, check)
	var he *httperr.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound
	case errors.As(err, &he):
		return he
	case err != nil:
		return httperr.Unavailable(err, "cannot deregister instance: store unavailable")
	}
	r.Log.Info("instance deregistered", "service", svc, "id", id, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, map[string]any{"deregistered": id, "service": svc})
}

// listInstances lists a service's live instances. An agent token sees only
// the services deployed to its own hosts; any other looks like a service
// without instances.
func (f *Function) listInstances(r *fnapi.Request) error {
	svc := r.Params.Get("svc")
	if !r.Principal.IsAdmin() {
		ok := false
		if f.opts.Hosts != nil {
			var err error
			if ok, err = f.opts.Hosts.AgentServes(r.Context(), r.Principal.TokenID, svc); err != nil {
				return httperr.Unavailable(err, "cannot list instances: store unavailable")
			}
		}
		if !ok {
			return r.JSON(fasthttp.StatusOK, map[string]any{"instances": []registry.Instance{}})
		}
	}
	ins, err := f.opts.Registry.List(r.Context(), svc)
	if err != nil {
		return httperr.Unavailable(err, "cannot list instances: store unavailable")
	}
	if ins == nil {
		ins = []registry.Instance{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"instances": ins})
}
