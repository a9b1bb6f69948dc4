package config

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// NamespaceList is the answer of GET .../namespaces.
type NamespaceList struct {
	Namespaces []Head `json:"namespaces"`
}

// NamespaceView is the answer of GET .../namespaces/{ns}: the namespace
// (what clients read), its draft and the gray branch's edits.
type NamespaceView struct {
	Head
	// Version is the namespace's notification id.
	Version      uint64     `json:"version"`
	Draft        Draft      `json:"draft"`
	DraftVersion uint64     `json:"draft_version"`
	GrayDraft    *GrayDraft `json:"gray_draft,omitempty"`
}

// CreateNamespace is the body of POST .../namespaces.
type CreateNamespace struct {
	Cluster string `json:"cluster"`
	Name    string `json:"name"`
	// Format defaults to the one of the name (FormatOf).
	Format string `json:"format"`
	Public bool   `json:"public"`
	// Override names the app whose public namespace Name this one overrides.
	Override string `json:"override"`
}

func (f *Function) listNamespaces(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	if err := f.canRead(r, app); err != nil {
		return err
	}
	heads, err := listAll[Head](r.Context(), f, headPrefix+app+"/")
	if err != nil {
		return err
	}
	if heads == nil {
		heads = []Head{}
	}
	return r.JSON(fasthttp.StatusOK, NamespaceList{Namespaces: heads})
}

func (f *Function) createNamespace(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	var in CreateNamespace
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if in.Cluster == "" {
		in.Cluster = model.DefaultCluster
	}
	in.Name = model.NormalizeNamespace(in.Name)
	var l fielderr.List
	if err := model.ValidName("cluster", in.Cluster); err != nil {
		l.Add("cluster", err.Error())
	}
	if err := model.ValidName("name", in.Name); err != nil {
		l.Add("name", err.Error())
	}
	format := model.FormatOf(in.Name)
	if in.Format != "" {
		fm, err := model.ParseFormat(in.Format)
		if err != nil {
			l.Add("format", err.Error())
		}
		format = fm
	}
	if in.Public && in.Override != "" {
		l.Add("override", "a namespace is public or overrides another app's public namespace, not both")
	}
	if in.Override != "" && (in.Override == app || model.ValidName("override", in.Override) != nil) {
		l.Add("override", "names the other app whose public namespace this one overrides")
	}
	if len(l) > 0 {
		return badFields(r, "invalid namespace", l)
	}
	if err := f.canWrite(r, app, true); err != nil {
		return err
	}
	n, err := f.canonicalWrite(r.Context(), nsID{app, in.Cluster, in.Name})
	if err != nil {
		return err
	}
	if n.NS != in.Name {
		return httperr.Conflict("namespace %s of cluster %s of app %s already exists (names are case-insensitive)", n.NS, n.Cluster, app)
	}
	in.Cluster = n.Cluster // an existing cluster's name as stored
	p, ok, ambiguous := f.hub.publicNamed(in.Name)
	if ambiguous && (in.Override != "" || in.Public) {
		return httperr.Conflict("public namespaces named %s in other cases exist already: public names are unique across apps, in any case", in.Name)
	}
	if ok && (in.Override != "" || in.Public) {
		if in.Public && p.name != in.Name {
			return httperr.Conflict("a public namespace %s exists already: public names are unique across apps, in any case", p.name)
		}
		in.Name, n.NS = p.name, p.name
	}
	if in.Override != "" {
		owner, _, err := f.publicOwner(r.Context(), in.Name)
		if err != nil {
			return err
		}
		if owner != in.Override {
			return badFields(r, "invalid namespace", fielderr.List{{Field: "override", Msg: "app " + in.Override + " has no public namespace " + in.Name}})
		}
	}
	claimed, err := f.claimName(r.Context(), nsID{app, in.Cluster, in.Name})
	if err != nil {
		return err
	}
	if claimed.NS != in.Name {
		return httperr.Conflict("namespace %s of cluster %s of app %s already exists (names are case-insensitive)", claimed.NS, claimed.Cluster, app)
	}
	in.Cluster, n = claimed.Cluster, claimed
	if in.Public {
		if err := f.claimPublic(r.Context(), in.Name, app); err != nil {
			return err
		}
	}
	h := Head{App: app, Cluster: in.Cluster, Namespace: in.Name, Format: format, Public: in.Public, Override: in.Override,
		CreatedBy: r.Principal.Name, CreatedAt: f.opts.Now().UTC()}
	ver, conflict, err := f.casJSON(r.Context(), n.headKey(), 0, h)
	if err != nil {
		return err
	}
	if conflict {
		return httperr.Conflict("namespace %s of cluster %s of app %s already exists", in.Name, in.Cluster, app)
	}
	f.audit(r.Context(), app, AuditEntry{At: h.CreatedAt, By: h.CreatedBy, Action: "create namespace", Cluster: n.Cluster, Namespace: n.NS, Detail: string(format)})
	r.Ctx.Response.Header.Set(fasthttp.HeaderLocation, "/api/v1/config/apps/"+app+"/clusters/"+n.Cluster+"/namespaces/"+n.NS)
	return r.JSON(fasthttp.StatusCreated, NamespaceView{Head: h, Version: ver, Draft: Draft{Items: map[string]string{}}})
}

// claimPublic records app as the owner of the public namespace name. The
// claim is made under the lower-cased name with compare-and-swap, so two
// apps creating "common" and "Common" at once on two nodes cannot both
// win; claims made before under another spelling count too.
func (f *Function) claimPublic(ctx context.Context, name, app string) error {
	taken := func() error {
		return httperr.Conflict("a public namespace %s exists already: public names are unique across apps, in any case", name)
	}
	// Claims made under another spelling before claims were lower-cased.
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	for e, err := range store.Entries(cctx, f.st, publicPrefix, store.ScanOptions{Limit: 500}) {
		if err != nil {
			return httperr.Unavailable(err, "cannot read config: store unavailable")
		}
		var owner string
		if strings.EqualFold(strings.TrimPrefix(e.Key, publicPrefix), name) && json.Unmarshal(e.Value, &owner) == nil && owner != app {
			return taken()
		}
	}
	owner, ver, err := f.publicOwner(ctx, fold(name))
	if err != nil {
		return err
	}
	if owner == app {
		return nil
	}
	if ver != 0 {
		return taken()
	}
	_, conflict, err := f.casJSON(ctx, publicPrefix+fold(name), 0, app)
	if err != nil {
		return err
	}
	if conflict {
		if owner, _, err = f.publicOwner(ctx, fold(name)); err != nil || owner != app {
			return errors.Join(err, taken())
		}
	}
	return nil
}

// publicOwner is the app that owns the public namespace name ("" none):
// the claim of that exact spelling (claims before they were lower-cased),
// else the claim of the lower-cased name.
func (f *Function) publicOwner(ctx context.Context, name string) (string, uint64, error) {
	var owner string
	ver, ok, err := f.getJSON(ctx, publicPrefix+name, &owner)
	if err != nil || ok || fold(name) == name {
		return owner, ver, err
	}
	ver, _, err = f.getJSON(ctx, publicPrefix+fold(name), &owner)
	return owner, ver, err
}

// head reads a namespace; a missing one is a 404.
func (f *Function) head(ctx context.Context, n nsID) (Head, uint64, error) {
	var h Head
	ver, ok, err := f.getJSON(ctx, n.headKey(), &h)
	if err != nil {
		return Head{}, 0, err
	}
	if !ok {
		return Head{}, 0, notFound(n)
	}
	return h, ver, nil
}

func notFound(n nsID) error {
	return httperr.NotFound("namespace %s of cluster %s of app %s not found", n.NS, n.Cluster, n.App)
}

// ensureHead reads a namespace, creating it with the format of its name
// when it does not exist (the first item set on "application" creates it).
func (f *Function) ensureHead(r *fnapi.Request, n nsID) (Head, error) {
	var h Head
	_, ok, err := f.getJSON(r.Context(), n.headKey(), &h)
	if err != nil || ok {
		return h, err
	}
	if claimed, err := f.claimName(r.Context(), n); err != nil {
		return Head{}, err
	} else if claimed != n {
		return Head{}, httperr.Conflict("namespace %s of cluster %s of app %s was just created as %s of cluster %s (names are case-insensitive); try again", n.NS, n.Cluster, n.App, claimed.NS, claimed.Cluster)
	}
	h = Head{App: n.App, Cluster: n.Cluster, Namespace: n.NS, Format: model.FormatOf(n.NS), CreatedBy: r.Principal.Name, CreatedAt: f.opts.Now().UTC()}
	if _, conflict, err := f.casJSON(r.Context(), n.headKey(), 0, h); err != nil {
		return Head{}, err
	} else if conflict {
		if _, _, err := f.getJSON(r.Context(), n.headKey(), &h); err != nil {
			return Head{}, err
		}
		return h, nil
	}
	f.audit(r.Context(), n.App, AuditEntry{At: h.CreatedAt, By: h.CreatedBy, Action: "create namespace", Cluster: n.Cluster, Namespace: n.NS, Detail: string(h.Format)})
	return h, nil
}

func (f *Function) getNamespace(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	if err := f.canRead(r, n.App); err != nil {
		return err
	}
	h, ver, err := f.head(r.Context(), n)
	if err != nil {
		return err
	}
	v := NamespaceView{Head: h, Version: ver}
	if v.DraftVersion, _, err = f.getJSON(r.Context(), n.draftKey(), &v.Draft); err != nil {
		return err
	}
	if v.Draft.Items == nil {
		v.Draft.Items = map[string]string{}
	}
	if h.Gray != nil {
		var g GrayDraft
		if _, _, err := f.getJSON(r.Context(), n.grayKey(), &g); err != nil {
			return err
		}
		v.GrayDraft = &g
	}
	return r.JSON(fasthttp.StatusOK, v)
}

// fieldsBody is the 400 of invalid input: every problem with its field.
type fieldsBody struct {
	Error     string           `json:"error"`
	Fields    []fielderr.Error `json:"fields"`
	RequestID string           `json:"request_id,omitempty"`
}

// fieldsError is invalid input: what was invalid and every field.
type fieldsError struct {
	what string
	l    fielderr.List
}

func (e *fieldsError) Error() string { return e.what + ": " + e.l.Error() }

// badFields is the error of invalid input naming every field of l (what
// prefixes the message); withFields answers it as a 400.
func badFields(_ *fnapi.Request, what string, l fielderr.List) error {
	return &fieldsError{what: what, l: l}
}

// withFields answers a handler's fieldsError with 400 and a body naming
// every field; other errors go to the Mux.
func withFields(h func(*fnapi.Request) error) func(*fnapi.Request) error {
	return func(r *fnapi.Request) error {
		err := h(r)
		var fe *fieldsError
		if errors.As(err, &fe) {
			parts := make([]string, len(fe.l))
			for i, e := range fe.l {
				parts[i] = e.Error()
			}
			return r.JSON(fasthttp.StatusBadRequest, fieldsBody{Error: fe.what + ": " + strings.Join(parts, "; "), Fields: fe.l, RequestID: r.RequestID})
		}
		return err
	}
}
