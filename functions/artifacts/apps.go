package artifacts

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// AppSummary is one app in GET /api/v1/apps.
type AppSummary struct {
	App      string `json:"app"`
	Team     string `json:"team"`
	Versions int    `json:"versions"`
	// Latest is the newest pushed version ("" when every version was deleted).
	Latest   string    `json:"latest,omitempty"`
	PushedAt time.Time `json:"pushed_at,omitzero"`
	// Live are the versions deploys keep in use (deploys/live/<app>).
	Live []string `json:"live"`
}

// AppsResponse is GET /api/v1/apps.
type AppsResponse struct {
	Apps []AppSummary `json:"apps"`
}

// listApps answers GET /api/v1/apps: the apps the caller may see (admin:
// all; a team token: its teams' apps; an agent token: the apps placed on
// its hosts), by name, with their versions and the versions in use. A
// token whose scopes reach no app (ingest) gets the 403 of the rule.
func (f *Function) listApps(r *fnapi.Request) error {
	p := r.Principal
	if !p.IsAdmin() && len(p.Teams()) == 0 && !p.Allows(auth.ScopeAgent) {
		return httperr.Forbidden("token %q cannot list apps: need one of %s, agent or team:<name>", p.Name, auth.ScopeAdmin)
	}
	out := AppsResponse{Apps: []AppSummary{}}
	var owners []AppSummary
	err := f.scan(r.Context(), ownersPrefix, func(e store.Entry) error {
		owners = append(owners, AppSummary{App: strings.TrimPrefix(e.Key, ownersPrefix), Team: string(e.Value)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range owners {
		err := f.hosts.Access(r.Context(), p, a.App, a.Team, false)
		var he *httperr.Error
		if errors.As(err, &he) && he.Status == fasthttp.StatusNotFound {
			continue
		}
		if err != nil {
			return err
		}
		ms, err := f.listMeta(r.Context(), a.App)
		if err != nil {
			return err
		}
		a.Versions = len(ms)
		if len(ms) > 0 {
			a.Latest, a.PushedAt = ms[0].Version, ms[0].CreatedAt
		}
		live, err := f.liveVersions(r.Context(), a.App)
		if err != nil {
			return err
		}
		a.Live = []string{}
		for v := range live {
			a.Live = append(a.Live, v)
		}
		sort.Strings(a.Live)
		out.Apps = append(out.Apps, a)
	}
	return r.JSON(fasthttp.StatusOK, out)
}
