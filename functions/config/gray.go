package config

import (
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// A namespace's gray branch: edits to the main release that clients
// matching its rules read once published. Rules take effect at once; the
// gray values on gray publish. Promote publishes the draft with the gray
// edits applied as the next main release and ends the branch; abandon
// ends it (its clients read the main release again).

// GrayView is the answer of the gray routes.
type GrayView struct {
	GrayHead
	Edits model.Edits `json:"edits"`
	// Version is the namespace's notification id after the change.
	Version uint64 `json:"version"`
}

// CreateGray is the body of PUT .../gray.
type CreateGray struct {
	Rules *model.Rules `json:"rules"`
}

// editHead applies edit to n's head with compare-and-swap and returns it.
func (f *Function) editHead(r *fnapi.Request, n nsID, what string, edit func(h *Head) error) (Head, uint64, error) {
	for range casRetries {
		h, hv, err := f.head(r.Context(), n)
		if err != nil {
			return Head{}, 0, err
		}
		if err := edit(&h); err != nil {
			return Head{}, 0, err
		}
		h.ChangedBy, h.ChangedAt = r.Principal.Name, f.opts.Now().UTC()
		nv, conflict, err := f.casJSON(r.Context(), n.headKey(), hv, h)
		if err != nil {
			return Head{}, 0, err
		}
		if !conflict {
			return h, nv, nil
		}
	}
	return Head{}, 0, busy(what)
}

func noGray(n nsID) error {
	return httperr.NotFound("namespace %s of cluster %s of app %s has no gray branch: create it with PUT .../gray", n.NS, n.Cluster, n.App)
}

// grayParams checks r's namespace and that the caller may write it.
func (f *Function) grayParams(r *fnapi.Request) (nsID, error) {
	n, err := f.nsParams(r)
	if err != nil {
		return n, err
	}
	return n, f.canWrite(r, n.App, false)
}

func (f *Function) grayView(r *fnapi.Request, n nsID, h Head, ver uint64, status int) error {
	var g GrayDraft
	if _, _, err := f.getJSON(r.Context(), n.grayKey(), &g); err != nil {
		return err
	}
	v := GrayView{Edits: g.Edits, Version: ver}
	if h.Gray != nil {
		v.GrayHead = *h.Gray
	}
	return r.JSON(status, v)
}

func (f *Function) createGray(r *fnapi.Request) error {
	var in CreateGray
	if len(r.Ctx.PostBody()) > 0 {
		if err := r.DecodeJSON(&in); err != nil {
			return err
		}
	}
	var rules model.Rules
	if in.Rules != nil {
		if l := in.Rules.Validate(); len(l) > 0 {
			var out fielderr.List
			out.Merge("rules", l)
			return badFields(r, "invalid gray rules", out)
		}
		rules = in.Rules.Normalize()
	}
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	h, ver, err := f.editHead(r, n, "create the gray branch", func(h *Head) error {
		if h.Gray != nil {
			return httperr.Conflict("namespace %s has a gray branch already: promote or abandon it first", n.NS)
		}
		h.Gray = &GrayHead{Rules: rules, CreatedBy: r.Principal.Name, CreatedAt: f.opts.Now().UTC()}
		return nil
	})
	if err != nil {
		return err
	}
	_ = f.del(r.Context(), n.grayKey())
	f.audit(r.Context(), n.App, AuditEntry{At: h.ChangedAt, By: h.ChangedBy, Action: "create gray", Cluster: n.Cluster, Namespace: n.NS, Detail: describeRules(rules)})
	return f.grayView(r, n, h, ver, fasthttp.StatusCreated)
}

func describeRules(r model.Rules) string {
	return fmt.Sprintf("percent=%v ips=%d labels=%v", r.Percent, len(r.IPs), r.Labels)
}

func (f *Function) putGrayRules(r *fnapi.Request) error {
	var in model.Rules
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if l := in.Validate(); len(l) > 0 {
		return badFields(r, "invalid gray rules", l)
	}
	in = in.Normalize()
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	h, ver, err := f.editHead(r, n, "change the gray rules", func(h *Head) error {
		if h.Gray == nil {
			return noGray(n)
		}
		h.Gray.Rules = in
		return nil
	})
	if err != nil {
		return err
	}
	f.audit(r.Context(), n.App, AuditEntry{At: h.ChangedAt, By: h.ChangedBy, Action: "gray rules", Cluster: n.Cluster, Namespace: n.NS, Detail: describeRules(in)})
	return f.grayView(r, n, h, ver, fasthttp.StatusOK)
}

// editGray applies edit to the gray branch's edits.
func (f *Function) editGray(r *fnapi.Request, action string, edit func(h Head, g *GrayDraft) error) error {
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	for range casRetries {
		h, hv, err := f.head(r.Context(), n)
		if err != nil {
			return err
		}
		if h.Gray == nil {
			return noGray(n)
		}
		var g GrayDraft
		gv, _, err := f.getJSON(r.Context(), n.grayKey(), &g)
		if err != nil {
			return err
		}
		if err := edit(h, &g); err != nil {
			return err
		}
		g.ModifiedBy, g.ModifiedAt = r.Principal.Name, f.opts.Now().UTC()
		_, conflict, err := f.casJSON(r.Context(), n.grayKey(), gv, g)
		if err != nil {
			return err
		}
		if conflict {
			continue
		}
		f.audit(r.Context(), n.App, AuditEntry{At: g.ModifiedAt, By: g.ModifiedBy, Action: action, Cluster: n.Cluster, Namespace: n.NS, Detail: r.Params.Get("key")})
		return f.grayView(r, n, h, hv, fasthttp.StatusOK)
	}
	return busy("edit the gray branch")
}

func (f *Function) setGrayItem(r *fnapi.Request) error {
	var in SetItem
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if in.Value == nil {
		return badFields(r, "invalid item", fielderr.List{{Field: "value", Msg: "is required (a string; \"\" for empty)"}})
	}
	return f.editGray(r, "gray set item", func(h Head, g *GrayDraft) error {
		k, err := itemKey(r, h.Format)
		if err != nil {
			return err
		}
		g.SetKey(k, *in.Value)
		return nil
	})
}

func (f *Function) deleteGrayItem(r *fnapi.Request) error {
	return f.editGray(r, "gray delete item", func(h Head, g *GrayDraft) error {
		k, err := itemKey(r, h.Format)
		if err != nil {
			return err
		}
		g.DeleteKey(k)
		return nil
	})
}

// publishGray publishes the main release with the gray edits as the gray
// release: clients matching the rules read it from now on.
func (f *Function) publishGray(r *fnapi.Request) error {
	in, err := f.decodePublish(r)
	if err != nil {
		return err
	}
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	for range casRetries {
		h, hv, err := f.head(ctx, n)
		if err != nil {
			return err
		}
		if h.Gray == nil {
			return noGray(n)
		}
		var g GrayDraft
		if _, _, err := f.getJSON(ctx, n.grayKey(), &g); err != nil {
			return err
		}
		base, err := f.releaseConf(ctx, n, h.Main)
		if err != nil {
			return err
		}
		conf := g.Apply(base)
		if l := model.Validate(h.Format, conf); len(l) > 0 {
			return badFields(r, "cannot publish the gray branch of "+n.NS, l)
		}
		prevID := h.Gray.Release
		if prevID == 0 {
			prevID = h.Main
		}
		prev, err := f.releaseConf(ctx, n, prevID)
		if err != nil {
			return err
		}
		rel := f.newRelease(n, h.Seq+1, model.BranchGray, conf, r.Principal.Name, in.Comment)
		rel.Previous, rel.Diff = prevID, model.Diff(prev, conf)
		if _, conflict, err := f.casJSON(ctx, n.relKey(rel.ID), 0, rel); err != nil {
			return err
		} else if conflict {
			continue
		}
		h.Seq = rel.ID
		h.Gray.Release, h.Gray.ReleaseKey = rel.ID, rel.Key
		h.ChangedBy, h.ChangedAt = rel.Author, rel.CreatedAt
		if _, conflict, err := f.casJSON(ctx, n.headKey(), hv, h); err != nil || conflict {
			_ = f.del(ctx, n.relKey(rel.ID))
			if err != nil {
				return err
			}
			continue
		}
		f.m.grayPublishes.Inc()
		f.audit(ctx, n.App, AuditEntry{At: rel.CreatedAt, By: rel.Author, Action: "publish gray", Cluster: n.Cluster, Namespace: n.NS, Release: rel.ID, Detail: in.Comment})
		return r.JSON(fasthttp.StatusCreated, rel)
	}
	return busy("publish the gray branch")
}

func (f *Function) promoteGray(r *fnapi.Request) error {
	in, err := f.decodePublish(r)
	if err != nil {
		return err
	}
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	h, _, err := f.head(r.Context(), n)
	if err != nil {
		return err
	}
	if h.Gray == nil {
		return noGray(n)
	}
	var g GrayDraft
	if _, _, err := f.getJSON(r.Context(), n.grayKey(), &g); err != nil {
		return err
	}
	rel, err := f.publishMain(r, n, in.Comment, &g.Edits)
	if err != nil {
		return err
	}
	f.m.publishes.Inc()
	return r.JSON(fasthttp.StatusCreated, rel)
}

func (f *Function) abandonGray(r *fnapi.Request) error {
	n, err := f.grayParams(r)
	if err != nil {
		return err
	}
	h, ver, err := f.editHead(r, n, "abandon the gray branch", func(h *Head) error {
		if h.Gray == nil {
			return noGray(n)
		}
		h.Gray = nil
		return nil
	})
	if err != nil {
		return err
	}
	_ = f.del(r.Context(), n.grayKey())
	f.audit(r.Context(), n.App, AuditEntry{At: h.ChangedAt, By: h.ChangedBy, Action: "abandon gray", Cluster: n.Cluster, Namespace: n.NS})
	return r.JSON(fasthttp.StatusOK, map[string]uint64{"version": ver})
}
