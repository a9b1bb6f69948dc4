package config

import (
	"context"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// Publish is the body of POST .../releases (and of gray publish, promote
// and rollback).
type Publish struct {
	Comment string `json:"comment"`
	// To is the release a rollback returns to; 0: the one before the
	// current release.
	To int64 `json:"to"`
}

// ReleaseList is the answer of GET .../releases: main and gray releases,
// newest first, and the ones clients read now.
type ReleaseList struct {
	Releases []model.Release `json:"releases"`
	Main     int64           `json:"main,omitempty"`
	Gray     int64           `json:"gray,omitempty"`
}

// DiffView is the answer of GET .../diff.
type DiffView struct {
	From    int64          `json:"from"`
	To      int64          `json:"to"`
	Changes []model.Change `json:"changes"`
}

// maxComment bounds a release comment.
const maxComment = 1024

func (f *Function) decodePublish(r *fnapi.Request) (Publish, error) {
	var in Publish
	if len(r.Ctx.PostBody()) > 0 {
		if err := r.DecodeJSON(&in); err != nil {
			return in, err
		}
	}
	if len(in.Comment) > maxComment {
		return in, httperr.BadRequest("comment is %d bytes, at most %d", len(in.Comment), maxComment)
	}
	if in.To < 0 {
		return in, httperr.BadRequest("to must be a release id, got %d", in.To)
	}
	return in, nil
}

func (f *Function) publish(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	in, err := f.decodePublish(r)
	if err != nil {
		return err
	}
	if err := f.canWrite(r, n.App, false); err != nil {
		return err
	}
	rel, err := f.publishMain(r, n, in.Comment, nil)
	if err != nil {
		return err
	}
	f.m.publishes.Inc()
	return r.JSON(fasthttp.StatusCreated, rel)
}

// publishMain publishes n's draft, with edits applied when set (promote),
// as its main release; the draft becomes what was published.
func (f *Function) publishMain(r *fnapi.Request, n nsID, comment string, edits *model.Edits) (model.Release, error) {
	ctx := r.Context()
	for range casRetries {
		h, hv, err := f.head(ctx, n)
		if err != nil {
			return model.Release{}, err
		}
		var d Draft
		dv, _, err := f.getJSON(ctx, n.draftKey(), &d)
		if err != nil {
			return model.Release{}, err
		}
		conf := d.Items
		if conf == nil {
			conf = map[string]string{}
		}
		if edits != nil {
			conf = edits.Apply(conf)
		}
		if l := model.Validate(h.Format, conf); len(l) > 0 {
			return model.Release{}, badFields(r, "cannot publish "+n.NS, l)
		}
		prev, err := f.releaseConf(ctx, n, h.Main)
		if err != nil {
			return model.Release{}, err
		}
		rel := f.newRelease(n, h.Seq+1, model.BranchMain, conf, r.Principal.Name, comment)
		rel.Previous, rel.Diff = h.Main, model.Diff(prev, conf)
		if _, conflict, err := f.casJSON(ctx, n.relKey(rel.ID), 0, rel); err != nil {
			return model.Release{}, err
		} else if conflict {
			continue
		}
		h.Seq, h.Main, h.MainKey = rel.ID, rel.ID, rel.Key
		h.ChangedBy, h.ChangedAt = rel.Author, rel.CreatedAt
		action := "publish"
		if edits != nil {
			action = "promote gray"
			h.Gray = nil
		}
		merged, err := f.mergeGray(ctx, n, &h, rel)
		if err != nil {
			_ = f.del(ctx, n.relKey(rel.ID))
			return model.Release{}, err
		}
		if _, conflict, err := f.casJSON(ctx, n.headKey(), hv, h); err != nil || conflict {
			_ = f.del(ctx, n.relKey(rel.ID))
			if merged != 0 {
				_ = f.del(ctx, n.relKey(merged))
			}
			if err != nil {
				return model.Release{}, err
			}
			continue
		}
		if edits != nil {
			// The promoted values are the draft from now on.
			d.Items, d.ModifiedBy, d.ModifiedAt = conf, rel.Author, rel.CreatedAt
			if _, _, err := f.casJSON(ctx, n.draftKey(), dv, d); err != nil {
				f.log.Warn("cannot write the promoted draft", "app", n.App, "namespace", n.NS, "err", err)
			}
			_ = f.del(ctx, n.grayKey())
		}
		f.audit(ctx, n.App, AuditEntry{At: rel.CreatedAt, By: rel.Author, Action: action, Cluster: n.Cluster, Namespace: n.NS, Release: rel.ID, Detail: comment})
		return rel, nil
	}
	return model.Release{}, busy("publish")
}

// mergeGray gives a published gray branch of h the new main release rel:
// a gray release of rel's values with the gray edits on top (Apollo
// merges a main publish into the gray branch), recorded in h. It returns
// the merged release's id (0: no gray release to merge, or the edits do
// not validate on top of rel: the gray release stays, logged).
func (f *Function) mergeGray(ctx context.Context, n nsID, h *Head, rel model.Release) (int64, error) {
	if h.Gray == nil || h.Gray.Release == 0 {
		return 0, nil
	}
	var g GrayDraft
	if _, _, err := f.getJSON(ctx, n.grayKey(), &g); err != nil {
		return 0, err
	}
	conf := g.Apply(rel.Configurations)
	if l := model.Validate(h.Format, conf); len(l) > 0 {
		f.log.Warn("the gray edits do not validate on the new main release; gray clients keep the gray release", "app", n.App, "namespace", n.NS, "err", l.Error())
		return 0, nil
	}
	prev, err := f.releaseConf(ctx, n, h.Gray.Release)
	if err != nil {
		return 0, err
	}
	grel := f.newRelease(n, rel.ID+1, model.BranchGray, conf, rel.Author, "main release "+strconv.FormatInt(rel.ID, 10)+" merged into the gray branch")
	grel.Previous, grel.Diff = h.Gray.Release, model.Diff(prev, conf)
	if _, conflict, err := f.casJSON(ctx, n.relKey(grel.ID), 0, grel); err != nil {
		return 0, err
	} else if conflict {
		return 0, busy("merge the publish into the gray branch")
	}
	h.Seq = grel.ID
	h.Gray.Release, h.Gray.ReleaseKey = grel.ID, grel.Key
	return grel.ID, nil
}

// newRelease is release id of n with conf, made now by author.
func (f *Function) newRelease(n nsID, id int64, branch string, conf map[string]string, author, comment string) model.Release {
	now := f.opts.Now().UTC()
	return model.Release{ID: id, Key: model.ReleaseKey(now, n.App, n.Cluster, n.NS, id, conf), App: n.App, Cluster: n.Cluster,
		Namespace: n.NS, Branch: branch, Configurations: conf, Author: author, Comment: comment, CreatedAt: now, Diff: []model.Change{}}
}

// release reads release id of n that a head points at (releases never
// change: cached).
func (f *Function) release(ctx context.Context, n nsID, id int64) (model.Release, error) {
	return f.readRelease(ctx, n, id, true)
}

// readRelease reads release id of n; cache keeps it for later reads (only
// for ids a head committed: a release whose head write lost a race is
// deleted and its id given again).
func (f *Function) readRelease(ctx context.Context, n nsID, id int64, cache bool) (model.Release, error) {
	key := n.relKey(id)
	if rel, ok := f.rels.get(key); ok {
		return rel, nil
	}
	var rel model.Release
	_, ok, err := f.getJSON(ctx, key, &rel)
	if err != nil {
		return model.Release{}, err
	}
	if !ok {
		return model.Release{}, httperr.NotFound("release %d of namespace %s of cluster %s of app %s not found", id, n.NS, n.Cluster, n.App)
	}
	if cache {
		f.rels.put(key, rel)
	}
	return rel, nil
}

// releaseConf is the configuration of release id (empty for 0).
func (f *Function) releaseConf(ctx context.Context, n nsID, id int64) (map[string]string, error) {
	if id == 0 {
		return map[string]string{}, nil
	}
	rel, err := f.release(ctx, n, id)
	return rel.Configurations, err
}

func (f *Function) listReleases(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	if err := f.canRead(r, n.App); err != nil {
		return err
	}
	h, _, err := f.head(r.Context(), n)
	if err != nil {
		return err
	}
	rels, err := listAll[model.Release](r.Context(), f, n.relPrefix())
	if err != nil {
		return err
	}
	out := ReleaseList{Releases: []model.Release{}, Main: h.Main}
	if h.Gray != nil {
		out.Gray = h.Gray.Release
	}
	for i := len(rels) - 1; i >= 0; i-- {
		out.Releases = append(out.Releases, rels[i])
	}
	return r.JSON(fasthttp.StatusOK, out)
}

func (f *Function) getRelease(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	id, err := parseID("id", r.Params.Get("id"))
	if err != nil {
		return err
	}
	if err := f.canRead(r, n.App); err != nil {
		return err
	}
	rel, err := f.readRelease(r.Context(), n, id, false)
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, rel)
}

// diff answers the changes between two releases: from= and to= (ids, or
// "draft" for the draft); to defaults to the current main release, from
// to the release before to.
func (f *Function) diff(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	if err := f.canRead(r, n.App); err != nil {
		return err
	}
	h, _, err := f.head(r.Context(), n)
	if err != nil {
		return err
	}
	q := r.Ctx.QueryArgs()
	conf := func(arg string, def int64) (int64, map[string]string, error) {
		v := string(q.Peek(arg))
		if v == "draft" {
			var d Draft
			_, _, err := f.getJSON(r.Context(), n.draftKey(), &d)
			if d.Items == nil {
				d.Items = map[string]string{}
			}
			return -1, d.Items, err
		}
		id := def
		if v != "" {
			if id, err = parseID(arg, v); err != nil {
				return 0, nil, err
			}
		}
		if id == 0 {
			return 0, map[string]string{}, nil
		}
		rel, err := f.readRelease(r.Context(), n, id, id <= h.Seq)
		return id, rel.Configurations, err
	}
	toID, toConf, err := conf("to", h.Main)
	if err != nil {
		return err
	}
	fromDef := int64(0)
	if toID > 0 {
		rel, err := f.release(r.Context(), n, toID)
		if err != nil {
			return err
		}
		fromDef = rel.Previous
	} else if toID < 0 {
		fromDef = h.Main
	}
	fromID, fromConf, err := conf("from", fromDef)
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, DiffView{From: fromID, To: toID, Changes: model.Diff(fromConf, toConf)})
}

// rollback points the clients of n's main line at an earlier release
// (body to=, or the one before the current): what clients read changes,
// the draft does not.
func (f *Function) rollback(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	in, err := f.decodePublish(r)
	if err != nil {
		return err
	}
	if err := f.canWrite(r, n.App, false); err != nil {
		return err
	}
	ctx := r.Context()
	for range casRetries {
		h, hv, err := f.head(ctx, n)
		if err != nil {
			return err
		}
		if h.Main == 0 {
			return httperr.Conflict("namespace %s has no release to roll back", n.NS)
		}
		cur, err := f.release(ctx, n, h.Main)
		if err != nil {
			return err
		}
		to := in.To
		if to == 0 {
			to = cur.Previous
			if to == 0 {
				return httperr.Conflict("release %d is the first of namespace %s: nothing before it to roll back to", h.Main, n.NS)
			}
		}
		if to > h.Seq {
			return httperr.NotFound("release %d of namespace %s not found", to, n.NS)
		}
		target, err := f.release(ctx, n, to)
		if err != nil {
			return err
		}
		if target.Branch != model.BranchMain {
			return httperr.BadRequest("to: release %d is a gray release; roll back to a main one", to)
		}
		h.Main, h.MainKey = target.ID, target.Key
		h.ChangedBy, h.ChangedAt = r.Principal.Name, f.opts.Now().UTC()
		if _, conflict, err := f.casJSON(ctx, n.headKey(), hv, h); err != nil {
			return err
		} else if conflict {
			continue
		}
		f.m.rollbacks.Inc()
		f.audit(ctx, n.App, AuditEntry{At: h.ChangedAt, By: h.ChangedBy, Action: "rollback", Cluster: n.Cluster, Namespace: n.NS, Release: target.ID,
			Detail: "from release " + strconv.FormatInt(cur.ID, 10) + nonEmpty(": ", in.Comment)})
		return r.JSON(fasthttp.StatusOK, target)
	}
	return busy("roll back")
}

func nonEmpty(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func parseID(name, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, httperr.BadRequest("%s must be a release id (a positive integer), got %q", name, s)
	}
	return id, nil
}

func parseUint(name, s string) (uint64, error) {
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, httperr.BadRequest("%s must be a non-negative integer, got %q", name, s)
	}
	return u, nil
}

// releaseCache keeps releases read (they never change), up to max.
type releaseCache struct {
	mu  sync.Mutex
	max int
	m   map[string]model.Release
}

func newReleaseCache(max int) *releaseCache {
	return &releaseCache{max: max, m: map[string]model.Release{}}
}

func (c *releaseCache) get(key string) (model.Release, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[key]
	return r, ok
}

func (c *releaseCache) put(key string, r model.Release) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary one
			delete(c.m, k)
			break
		}
	}
	c.m[key] = r
}
