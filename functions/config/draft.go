package config

import (
	"maps"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// PutDraft is the body of PUT .../draft: the whole next configuration.
// Items for a properties namespace, or Content: properties text (parsed
// here) or the whole text of another format (checked here).
type PutDraft struct {
	Items   map[string]string `json:"items"`
	Content *string           `json:"content"`
	// IfVersion, when set, is the draft_version the edit is based on: 409
	// when the draft changed since.
	IfVersion *uint64 `json:"if_version"`
}

// SetItem is the body of PUT .../items/{key}.
type SetItem struct {
	Value     *string `json:"value"`
	IfVersion *uint64 `json:"if_version"`
}

// DraftView is the answer of a draft edit.
type DraftView struct {
	Draft
	Version uint64 `json:"version"`
}

// editDraft applies edit to n's draft with compare-and-swap (ifVersion,
// when set, must be the draft's version) and answers the new draft.
func (f *Function) editDraft(r *fnapi.Request, n nsID, ifVersion *uint64, action, detail string, edit func(h Head, d *Draft) error) error {
	if err := f.canWrite(r, n.App, true); err != nil {
		return err
	}
	h, err := f.ensureHead(r, n)
	if err != nil {
		return err
	}
	for range casRetries {
		var d Draft
		ver, _, err := f.getJSON(r.Context(), n.draftKey(), &d)
		if err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != ver {
			return httperr.Conflict("the draft is at version %d, not %d: read it again and redo the edit", ver, *ifVersion)
		}
		if d.Items == nil {
			d.Items = map[string]string{}
		}
		if err := edit(h, &d); err != nil {
			return err
		}
		d.ModifiedBy, d.ModifiedAt = r.Principal.Name, f.opts.Now().UTC()
		nv, conflict, err := f.casJSON(r.Context(), n.draftKey(), ver, d)
		if err != nil {
			return err
		}
		if conflict {
			if ifVersion != nil {
				return httperr.Conflict("the draft changed while it was written: read it again and redo the edit")
			}
			continue
		}
		f.audit(r.Context(), n.App, AuditEntry{At: d.ModifiedAt, By: d.ModifiedBy, Action: action, Cluster: n.Cluster, Namespace: n.NS, Detail: detail})
		return r.JSON(fasthttp.StatusOK, DraftView{Draft: d, Version: nv})
	}
	return busy("edit the draft")
}

func (f *Function) putDraft(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	var in PutDraft
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if (in.Items == nil) == (in.Content == nil) {
		return badFields(r, "invalid draft", fielderr.List{{Field: "items", Msg: "give items (properties) or content (the whole text), one of them"}})
	}
	return f.editDraft(r, n, in.IfVersion, "replace draft", "", func(h Head, d *Draft) error {
		items, l := draftItems(h.Format, in)
		if len(l) > 0 {
			return badFields(r, "invalid draft", l)
		}
		d.Items = items
		return nil
	})
}

// draftItems is the configuration a PutDraft gives a namespace of format
// fm, or what is wrong with it (named by key or line).
func draftItems(fm model.Format, in PutDraft) (map[string]string, fielderr.List) {
	var l fielderr.List
	var items map[string]string
	switch {
	case in.Content != nil && fm == model.Properties:
		p, err := model.ParseProperties(*in.Content)
		if err != nil {
			l.Add("content", err.Error())
			return nil, l
		}
		items = p
	case in.Content != nil:
		if err := model.ValidateContent(fm, *in.Content); err != nil {
			l.Add("content", err.Error())
			return nil, l
		}
		items = map[string]string{model.ContentKey: *in.Content}
	default:
		items = maps.Clone(in.Items)
	}
	return items, model.Validate(fm, items)
}

// itemKey is the {key} of r for a namespace of format fm.
func itemKey(r *fnapi.Request, fm model.Format) (string, error) {
	k := r.Params.Get("key")
	if fm != model.Properties && k != model.ContentKey {
		return "", badFields(r, "invalid item", fielderr.List{{Field: "key", Msg: "a " + string(fm) + " namespace holds only the key " + model.ContentKey + " (its whole text)"}})
	}
	if err := model.ValidKey(k); err != nil {
		return "", badFields(r, "invalid item", fielderr.List{{Field: "key", Msg: err.Error()}})
	}
	return k, nil
}

func (f *Function) setItem(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	var in SetItem
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if in.Value == nil {
		return badFields(r, "invalid item", fielderr.List{{Field: "value", Msg: "is required (a string; \"\" for empty)"}})
	}
	return f.editDraft(r, n, in.IfVersion, "set item", r.Params.Get("key"), func(h Head, d *Draft) error {
		k, err := itemKey(r, h.Format)
		if err != nil {
			return err
		}
		next := maps.Clone(d.Items)
		next[k] = *in.Value
		if size := confSize(next); size > model.MaxNamespaceBytes {
			return badFields(r, "invalid item", fielderr.List{{Field: "value", Msg: "the namespace would be larger than 1 MiB"}})
		}
		d.Items = next
		return nil
	})
}

func (f *Function) deleteItem(r *fnapi.Request) error {
	n, err := f.nsParams(r)
	if err != nil {
		return err
	}
	var ifVersion *uint64
	if v := r.Ctx.QueryArgs().Peek("if_version"); len(v) > 0 {
		u, err := parseUint("if_version", string(v))
		if err != nil {
			return err
		}
		ifVersion = &u
	}
	key := r.Params.Get("key")
	return f.editDraft(r, n, ifVersion, "delete item", key, func(h Head, d *Draft) error {
		if _, ok := d.Items[key]; !ok {
			return httperr.NotFound("key %q is not in the draft", key)
		}
		delete(d.Items, key)
		return nil
	})
}

func confSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}
