package config

import (
	"context"
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// ApolloConfig is the body of GET /configs, Apollo's ApolloConfig.
type ApolloConfig struct {
	AppID          string            `json:"appId"`
	Cluster        string            `json:"cluster"`
	NamespaceName  string            `json:"namespaceName"`
	Configurations map[string]string `json:"configurations"`
	ReleaseKey     string            `json:"releaseKey"`
}

// NotificationMessages is Apollo's ApolloNotificationMessages: the
// notification id of each "app+cluster+namespace" a client was told of.
type NotificationMessages struct {
	Details map[string]int64 `json:"details"`
}

// resolved is what a client reads of one namespace.
type resolved struct {
	conf    map[string]string
	key     string
	cluster string
	format  model.Format
	// versions are the notification ids of the heads read, by watch key.
	versions map[string]uint64
}

// clientParams are a client read's path parameters, checked; the app is
// the one the client's appId names (model.AppOfClient), orig the
// namespace as the client named it.
func clientParams(r *fnapi.Request) (nsID, string, error) {
	app := r.Params.Get("app")
	if err := model.ValidName("appId", app); err != nil {
		return nsID{}, "", httperr.BadRequest("appId: %v", err)
	}
	orig := r.Params.Get("ns")
	n := nsID{App: model.AppOfClient(app), Cluster: r.Params.Get("cluster"), NS: model.NormalizeNamespace(orig)}
	if err := model.ValidName("cluster", n.Cluster); err != nil {
		return nsID{}, "", httperr.BadRequest("cluster: %v", err)
	}
	if err := model.ValidName("namespace", n.NS); err != nil {
		return nsID{}, "", httperr.BadRequest("namespace: %v", err)
	}
	return n, orig, nil
}

// clientOf is who asks, from the query: ip, label, instanceId; the IP
// defaults to the peer's.
func clientOf(r *fnapi.Request) model.Client {
	q := r.Ctx.QueryArgs()
	c := model.Client{ID: string(q.Peek("instanceId")), IP: string(q.Peek("ip")), Label: string(q.Peek("label"))}
	if c.IP == "" {
		c.IP = r.Ctx.RemoteIP().String()
	}
	return c
}

// readHead reads n's head; ok false when there is none.
func (f *Function) readHead(ctx context.Context, n nsID, versions map[string]uint64) (Head, bool, error) {
	var h Head
	ver, ok, err := f.getJSON(ctx, n.headKey(), &h)
	if ok {
		versions[n.watchKey()] = ver
	}
	return h, ok, err
}

// released reads the namespace of n a client reads: the cluster's, else
// the default cluster's (Apollo's fallback). id is the release c reads (0:
// none); ok false when neither cluster has the namespace.
func (f *Function) released(ctx context.Context, n nsID, c model.Client, versions map[string]uint64) (h Head, id int64, ok bool, err error) {
	h, ok, err = f.readHead(ctx, n, versions)
	if err != nil {
		return Head{}, 0, false, err
	}
	if ok {
		if id := pick(h, n, c); id > 0 {
			return h, id, true, nil
		}
	}
	if n.Cluster != model.DefaultCluster {
		d := nsID{n.App, model.DefaultCluster, n.NS}
		dh, dok, err := f.readHead(ctx, d, versions)
		if err != nil {
			return Head{}, 0, false, err
		}
		if dok {
			if id := pick(dh, d, c); id > 0 {
				return dh, id, true, nil
			}
			if !ok {
				return dh, 0, true, nil
			}
		}
	}
	return h, 0, ok, nil
}

// pick is the release of h that c reads: the gray one when c matches the
// gray rules and it is published, else the main one (0: none).
func pick(h Head, n nsID, c model.Client) int64 {
	if g := h.Gray; g != nil && g.Release > 0 && g.Rules.Matches(model.GraySalt(n.App, n.Cluster, n.NS), c) {
		return g.Release
	}
	return h.Main
}

// resolve is what client c of app reads of namespace n: the app's own
// release, or the public namespace of that name of another app with the
// app's override on top (its keys win). ok false: nothing released.
func (f *Function) resolve(ctx context.Context, n nsID, c model.Client) (resolved, bool, error) {
	res := resolved{versions: map[string]uint64{}}
	own, id, ok, err := f.released(ctx, n, c, res.versions)
	if err != nil {
		return res, false, err
	}
	var ownConf map[string]string
	var ownKey string
	if id > 0 {
		rel, err := f.release(ctx, nsID{own.App, own.Cluster, own.Namespace}, id)
		if err != nil {
			return res, false, err
		}
		ownConf, ownKey = rel.Configurations, rel.Key
	}
	if ok && own.Override == "" {
		// The app's own namespace (private, or its own public one).
		res.conf, res.key, res.cluster, res.format = ownConf, ownKey, own.Cluster, own.Format
		return res, id > 0, nil
	}
	owner, _, err := f.publicOwner(ctx, n.NS)
	if err != nil || owner == "" || owner == n.App {
		return res, false, err
	}
	pn := nsID{owner, n.Cluster, n.NS}
	ph, pid, _, err := f.released(ctx, pn, c, res.versions)
	if err != nil || pid == 0 {
		return res, false, err
	}
	prel, err := f.release(ctx, nsID{ph.App, ph.Cluster, ph.Namespace}, pid)
	if err != nil {
		return res, false, err
	}
	res.conf, res.key, res.cluster, res.format = prel.Configurations, prel.Key, n.Cluster, ph.Format
	if id > 0 {
		res.conf = model.Overlay(prel.Configurations, ownConf)
		res.key = prel.Key + "+" + ownKey
	}
	return res, true, nil
}

// configs is Apollo's GET /configs/{appId}/{cluster}/{namespace}: 200 with
// the configuration, 304 when releaseKey is the current one, 404 when
// nothing is released. messages (the notifications the client was told
// of) must not be newer than what is read: a lagging read is retried and
// then refused with 503, never answered with an older release.
func (f *Function) configs(r *fnapi.Request) error {
	n, orig, err := clientParams(r)
	if err != nil {
		return err
	}
	// An ambiguous name is refused after the credentials are checked.
	cn, cerr := f.hub.canonical(n)
	ctx := f.clientCtx(r.Context())
	var msgs NotificationMessages
	if m := r.Ctx.QueryArgs().Peek("messages"); len(m) > 0 {
		if err := json.Unmarshal(m, &msgs); err != nil {
			return httperr.BadRequest("messages: not Apollo's notification messages JSON ({\"details\":{\"app+cluster+namespace\":id}}): %v", err)
		}
	}
	if err := f.clientAuth(ctx, r, n.App); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	n = cn
	c := clientOf(r)
	var res resolved
	var ok bool
	for attempt := 0; ; attempt++ {
		res, ok, err = f.resolve(ctx, n, c)
		if err != nil {
			return err
		}
		if !behind(res.versions, msgs) {
			break
		}
		if attempt == 2 {
			return httperr.Unavailable(nil, "this node has not caught up with a notification the client was sent; retry")
		}
		f.hub.waitFor(r.Context(), msgs)
	}
	if !ok {
		return httperr.NotFound("no release of namespace %s of cluster %s of app %s", n.NS, n.Cluster, n.App)
	}
	if string(r.Ctx.QueryArgs().Peek("releaseKey")) == res.key {
		f.m.notModified.Inc()
		r.Ctx.SetStatusCode(fasthttp.StatusNotModified)
		return nil
	}
	// Apollo answers under the appId the client asked with.
	return r.JSON(fasthttp.StatusOK, ApolloConfig{AppID: r.Params.Get("app"), Cluster: res.cluster, NamespaceName: orig, Configurations: res.conf, ReleaseKey: res.key})
}

// behind reports whether a head read is older than a notification of it
// in msgs.
func behind(versions map[string]uint64, msgs NotificationMessages) bool {
	for k, id := range msgs.Details {
		if v, ok := versions[k]; ok && int64(v) < id {
			return true
		}
	}
	return false
}

// configFile reads a namespace for the /configfiles routes.
func (f *Function) readFile(r *fnapi.Request) (resolved, error) {
	n, _, err := clientParams(r)
	if err != nil {
		return resolved{}, err
	}
	cn, cerr := f.hub.canonical(n)
	ctx := f.clientCtx(r.Context())
	if err := f.clientAuth(ctx, r, n.App); err != nil {
		return resolved{}, err
	}
	if cerr != nil {
		return resolved{}, cerr
	}
	n = cn
	res, ok, err := f.resolve(ctx, n, clientOf(r))
	if err != nil {
		return res, err
	}
	if !ok {
		return res, httperr.NotFound("no release of namespace %s of cluster %s of app %s", n.NS, n.Cluster, n.App)
	}
	return res, nil
}

// configFileJSON is GET /configfiles/json/...: the configuration as one
// JSON object.
func (f *Function) configFileJSON(r *fnapi.Request) error {
	res, err := f.readFile(r)
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, res.conf)
}

// configFile is GET /configfiles/...: the configuration as properties text.
func (f *Function) configFile(r *fnapi.Request) error {
	res, err := f.readFile(r)
	if err != nil {
		return err
	}
	r.Ctx.SetContentType("text/plain; charset=utf-8")
	r.Ctx.SetBodyString(model.FormatProperties(res.conf))
	return nil
}

// configFileRaw is GET /configfiles/raw/...: a namespace's text as it was
// written (properties text for properties).
func (f *Function) configFileRaw(r *fnapi.Request) error {
	res, err := f.readFile(r)
	if err != nil {
		return err
	}
	ct, body := "text/plain; charset=utf-8", ""
	switch res.format {
	case model.Properties:
		body = model.FormatProperties(res.conf)
	case model.JSON:
		ct, body = "application/json", res.conf[model.ContentKey]
	case model.XML:
		ct, body = "application/xml", res.conf[model.ContentKey]
	case model.YAML:
		ct, body = "application/yaml", res.conf[model.ContentKey]
	default:
		body = res.conf[model.ContentKey]
	}
	r.Ctx.SetContentType(ct)
	r.Ctx.SetBodyString(body)
	return nil
}
