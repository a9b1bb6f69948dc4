package config

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// ApolloNotification is one element of the /notifications/v2 answer,
// Apollo's ApolloConfigNotification.
type ApolloNotification struct {
	NamespaceName  string                `json:"namespaceName"`
	NotificationID int64                 `json:"notificationId"`
	Messages       *NotificationMessages `json:"messages,omitempty"`
}

// maxWatched bounds the namespaces of one poll.
const maxWatched = 500

// splitWatchKey splits "app+cluster+namespace".
func splitWatchKey(k string) (app, cluster, ns string, ok bool) {
	p := strings.Split(k, "+")
	if len(p) != 3 {
		return "", "", "", false
	}
	return p[0], p[1], p[2], true
}

// notifications is Apollo's GET /notifications/v2?appId=&cluster=
// &notifications=[{namespaceName, notificationId}]: answered at once with
// the namespaces whose notification id is newer than the client's (ids
// start at -1), else held until one changes (200) or PollTimeout passes
// (304).
func (f *Function) notifications(r *fnapi.Request) error {
	q := r.Ctx.QueryArgs()
	app := string(q.Peek("appId"))
	if err := model.ValidName("appId", app); err != nil {
		return httperr.BadRequest("appId: %v", err)
	}
	app = model.AppOfClient(app)
	cluster := string(q.Peek("cluster"))
	if cluster == "" {
		cluster = model.DefaultCluster
	}
	if err := model.ValidName("cluster", cluster); err != nil {
		return httperr.BadRequest("cluster: %v", err)
	}
	var in []struct {
		NamespaceName  string `json:"namespaceName"`
		NotificationID *int64 `json:"notificationId"`
	}
	raw := q.Peek("notifications")
	if len(raw) == 0 {
		return httperr.BadRequest("notifications: required, a JSON array of {namespaceName, notificationId}")
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return httperr.BadRequest("notifications: not a JSON array of {namespaceName, notificationId}: %v", err)
	}
	if len(in) == 0 || len(in) > maxWatched {
		return httperr.BadRequest("notifications: %d namespaces, want 1 to %d", len(in), maxWatched)
	}
	ws := make([]watched, 0, len(in))
	for i, x := range in {
		ns := model.NormalizeNamespace(x.NamespaceName)
		if err := model.ValidName("namespaceName", ns); err != nil {
			return httperr.BadRequest("notifications[%d].namespaceName: %v", i, err)
		}
		id := int64(-1)
		if x.NotificationID != nil {
			id = *x.NotificationID
		}
		ws = append(ws, watched{name: x.NamespaceName, ns: ns, id: id})
	}
	if err := f.clientAuth(f.clientCtx(r.Context()), r, app); err != nil {
		return err
	}
	w, out := f.hub.register(app, cluster, ws)
	if w == nil {
		f.m.pollsChanged.Inc()
		return r.JSON(fasthttp.StatusOK, out)
	}
	defer f.hub.unregister(w)
	timer := time.NewTimer(f.opts.PollTimeout)
	defer timer.Stop()
	// The server's shutdown channel: a draining gateway answers held polls.
	shutdown := r.Ctx.Done()
	for {
		select {
		case body := <-w.ch:
			f.m.pollsChanged.Inc()
			r.Ctx.SetContentType("application/json")
			r.Ctx.SetBody(body)
			return nil
		case <-timer.C:
			f.m.pollsTimedOut.Inc()
			r.Ctx.SetStatusCode(fasthttp.StatusNotModified)
			return nil
		case <-r.Context().Done():
			r.Ctx.SetStatusCode(fasthttp.StatusNotModified)
			return nil
		case <-shutdown:
			r.Ctx.SetStatusCode(fasthttp.StatusNotModified)
			r.Ctx.SetConnectionClose()
			return nil
		}
	}
}
