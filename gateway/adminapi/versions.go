package adminapi

import (
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// StartFile is the edge config this process was started with (config file,
// environment and flags) and the file it came from ("" for none).
type StartFile struct {
	Path string
	Edge config.Edge
}

// versionRoutes are the whole-config routes: compare the start-up file,
// apply a config, read an old version, roll back. Admin only.
func (f *Function) versionRoutes() []fnapi.Route {
	a := fnapi.AdminOnly()
	const p = "/api/v1/gateway"
	return []fnapi.Route{
		{Method: "GET", Pattern: p + "/file", Access: a, Handler: f.fileStatus},
		{Method: "PUT", Pattern: p + "/config", Access: a, Handler: f.applyConfig},
		{Method: "GET", Pattern: p + "/history/{version}", Access: a, Handler: f.getVersion},
		{Method: "POST", Pattern: p + "/rollback", Access: a, Handler: f.rollback},
	}
}

// fileStatus compares this process's start-up edge config with the stored
// one: a start never overwrites the store, so they may differ.
func (f *Function) fileStatus(r *fnapi.Request) error {
	if f.opts.File == nil {
		return httperr.NotFound("this process was started without an edge config")
	}
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	diff := edge.Compare(d.Edge, f.opts.File.Edge)
	body := map[string]any{
		"file": f.opts.File.Path, "stored_version": d.Version, "updated_by": d.UpdatedBy, "updated_at": d.UpdatedAt,
		"action": d.Action, "differs": !diff.Empty(), "summary": diff.Summary(), "diff": nonNilDiff(diff),
	}
	if !diff.Empty() {
		body["apply"] = ApplyCommand(f.opts.File.Path)
	}
	return r.JSON(fasthttp.StatusOK, body)
}

// ApplyCommand is what an operator runs to apply the start-up file.
func ApplyCommand(path string) string {
	if path == "" {
		return "put the edge options in a file and run: wharf edge apply -f FILE"
	}
	return "wharf edge apply -f " + path
}

func nonNilDiff(d edge.Diff) edge.Diff {
	if d == nil {
		return edge.Diff{}
	}
	return d
}

type applyRequest struct {
	Config *config.Edge `json:"config"`
	// IfVersion is the stored version the caller's diff was made against.
	IfVersion *int64 `json:"if_version"`
	// Source names what is applied, e.g. the file's name; it goes into the
	// history as "apply <source>".
	Source string `json:"source"`
	// Force applies a config that would lock out the caller or loopback.
	Force bool `json:"force,omitempty"`
}

// applyConfig replaces the whole edge config when the stored one is still
// at if_version; 409 otherwise, so a change made meanwhile is not lost.
func (f *Function) applyConfig(r *fnapi.Request) error {
	var req applyRequest
	if err := r.DecodeJSON(&req); err != nil {
		return err
	}
	if req.Config == nil {
		return httperr.BadRequest("config: is required (the whole edge config: acl, limits, services, routes)")
	}
	if req.IfVersion == nil || *req.IfVersion < 0 {
		return httperr.BadRequest("if_version: is required (the version your diff was made against, from GET /api/v1/gateway/config)")
	}
	if len(req.Source) > 200 || !printable(req.Source) {
		return httperr.BadRequest("source: must be at most 200 printable characters")
	}
	action := "apply"
	if req.Source != "" {
		action += " " + req.Source
	}
	cur, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	if cur.Version != *req.IfVersion {
		return versionErr(&edge.VersionConflict{Expected: *req.IfVersion, Current: cur.Version})
	}
	diff := edge.Compare(cur.Edge, *req.Config)
	if diff.Empty() {
		return r.JSON(fasthttp.StatusOK, map[string]any{"version": cur.Version, "unchanged": true, "diff": edge.Diff{}})
	}
	if err := f.refuseLockouts(r, cur.Edge, *req.Config, req.Force); err != nil {
		return err
	}
	d, err := f.opts.Edge.Apply(r.Context(), r.Principal.Name, action, *req.Config, *req.IfVersion)
	if err != nil {
		return versionErr(err)
	}
	r.Log.Info("gateway config applied", "version", d.Version, "action", action, "by", r.Principal.Name, "changes", diff.Summary())
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "updated_by": d.UpdatedBy, "updated_at": d.UpdatedAt, "diff": diff})
}

func printable(s string) bool {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// getVersion returns the whole config as it was at one version.
func (f *Function) getVersion(r *fnapi.Request) error {
	v, err := versionParam("version", r.Params.Get("version"))
	if err != nil {
		return err
	}
	d, err := f.opts.Edge.At(r.Context(), v)
	if err != nil {
		return versionErr(err)
	}
	return r.JSON(fasthttp.StatusOK, nonNil(d))
}

type rollbackRequest struct {
	Version   int64  `json:"version"`
	IfVersion *int64 `json:"if_version"`
	// Force restores a config that would lock out the caller or loopback.
	Force bool `json:"force,omitempty"`
}

// rollback writes an old version's config as a new version.
func (f *Function) rollback(r *fnapi.Request) error {
	var req rollbackRequest
	if err := r.DecodeJSON(&req); err != nil {
		return err
	}
	if req.Version < 1 {
		return httperr.BadRequest("version: is required (a version from GET /api/v1/gateway/history)")
	}
	if req.IfVersion == nil || *req.IfVersion < 0 {
		return httperr.BadRequest("if_version: is required (the version your diff was made against, from GET /api/v1/gateway/config)")
	}
	cur, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	old, err := f.opts.Edge.At(r.Context(), req.Version)
	if err != nil {
		return versionErr(err)
	}
	if cur.Version != *req.IfVersion {
		return versionErr(&edge.VersionConflict{Expected: *req.IfVersion, Current: cur.Version})
	}
	diff := edge.Compare(cur.Edge, old.Edge)
	if diff.Empty() {
		return r.JSON(fasthttp.StatusOK, map[string]any{"version": cur.Version, "unchanged": true, "diff": edge.Diff{}})
	}
	if err := f.refuseLockouts(r, cur.Edge, old.Edge, req.Force); err != nil {
		return err
	}
	d, err := f.opts.Edge.Rollback(r.Context(), r.Principal.Name, req.Version, *req.IfVersion)
	if err != nil {
		return versionErr(err)
	}
	r.Log.Info("gateway config rolled back", "version", d.Version, "to", req.Version, "by", r.Principal.Name, "changes", diff.Summary())
	return r.JSON(fasthttp.StatusOK, map[string]any{"version": d.Version, "updated_by": d.UpdatedBy, "updated_at": d.UpdatedAt, "diff": nonNilDiff(diff)})
}

func versionParam(field, s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, httperr.BadRequest("%s: must be a positive integer, got %q", field, s)
	}
	return v, nil
}

// versionErr maps whole-config write errors to HTTP: a stale version →
// 409, an unknown version → 404, a field error → 400 naming the field
// under "config.", anything else → 503.
func versionErr(err error) error {
	var vc *edge.VersionConflict
	var fe *config.FieldError
	var he *httperr.Error
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &vc):
		return httperr.Conflict("%v; get the config and diff again", vc)
	case errors.Is(err, edge.ErrNoSuchVersion):
		return httperr.NotFound("%v", err)
	case errors.As(err, &fe):
		return httperr.BadRequest("%s", prefixFields(err.Error(), "config."))
	case errors.Is(err, edge.ErrContention):
		return httperr.Conflict("%v; retry", err)
	}
	return httperr.Unavailable(err, "cannot change the edge config: store unavailable")
}

// prefixFields puts prefix before every "field: message" line and joins
// the lines with "; ".
func prefixFields(msg, prefix string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "; ")
}

// refuseLockouts is the lock-out rule of the per-object changes (see
// update) for a whole-config write from cur to next: 409 when next newly
// locks out the caller or loopback, unless forced.
func (f *Function) refuseLockouts(r *fnapi.Request, cur, next config.Edge, force bool) error {
	if force || forced(r) {
		return nil
	}
	guard := f.guarded(r)
	if locked := newLockouts(edgeLockouts(cur, guard), edgeLockouts(next, guard)); len(locked) > 0 {
		return httperr.Conflict("%s", prefixFields(strings.Join(locked, "\n"), "config.")+forceHint)
	}
	return nil
}
