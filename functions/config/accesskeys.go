package config

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// AccessKey is an app's key for Apollo clients: they sign each request
// with its secret (HMAC-SHA1). The secret is shown once, at creation.
type AccessKey struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret,omitempty"`
	Enabled   bool      `json:"enabled"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
}

// AccessKeyList is the answer of GET .../accesskeys (no secrets).
type AccessKeyList struct {
	Keys []AccessKey `json:"keys"`
}

// UpdateKey is the body of PUT .../accesskeys/{id}.
type UpdateKey struct {
	Enabled *bool `json:"enabled"`
}

// maxKeys bounds an app's access keys (Apollo allows 5).
const maxKeys = 5

func keyPath(app, id string) string { return keysPrefix + app + "/" + id }

func (f *Function) listKeys(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	if err := f.canWrite(r, app, false); err != nil {
		return err
	}
	keys, err := listAll[AccessKey](r.Context(), f, keysPrefix+app+"/")
	if err != nil {
		return err
	}
	out := AccessKeyList{Keys: []AccessKey{}}
	for _, k := range keys {
		k.Secret = ""
		out.Keys = append(out.Keys, k)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

func (f *Function) createKey(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	if err := f.canWrite(r, app, true); err != nil {
		return err
	}
	keys, err := listAll[AccessKey](r.Context(), f, keysPrefix+app+"/")
	if err != nil {
		return err
	}
	if len(keys) >= maxKeys {
		return httperr.Conflict("app %s has %d access keys, at most %d: delete one first", app, len(keys), maxKeys)
	}
	var id [8]byte
	var secret [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return err
	}
	k := AccessKey{ID: hex.EncodeToString(id[:]), Secret: hex.EncodeToString(secret[:]), Enabled: true,
		CreatedBy: r.Principal.Name, CreatedAt: f.opts.Now().UTC()}
	if _, conflict, err := f.casJSON(r.Context(), keyPath(app, k.ID), 0, k); err != nil {
		return err
	} else if conflict {
		return busy("create an access key")
	}
	f.audit(r.Context(), app, AuditEntry{At: k.CreatedAt, By: k.CreatedBy, Action: "create access key", Detail: k.ID})
	return r.JSON(fasthttp.StatusCreated, k)
}

// keyParam is the {id} of r, checked.
func keyParam(r *fnapi.Request) (string, error) {
	id := r.Params.Get("id")
	if len(id) != 16 {
		return "", httperr.BadRequest("id %q is not an access key id (16 hex digits)", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", httperr.BadRequest("id %q is not an access key id (16 hex digits)", id)
	}
	return id, nil
}

func (f *Function) updateKey(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	id, err := keyParam(r)
	if err != nil {
		return err
	}
	var in UpdateKey
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return httperr.BadRequest("enabled is required (true or false)")
	}
	if err := f.canWrite(r, app, false); err != nil {
		return err
	}
	for range casRetries {
		var k AccessKey
		ver, ok, err := f.getJSON(r.Context(), keyPath(app, id), &k)
		if err != nil {
			return err
		}
		if !ok {
			return httperr.NotFound("access key %s of app %s not found", id, app)
		}
		k.Enabled, k.ChangedBy, k.ChangedAt = *in.Enabled, r.Principal.Name, f.opts.Now().UTC()
		if _, conflict, err := f.casJSON(r.Context(), keyPath(app, id), ver, k); err != nil {
			return err
		} else if conflict {
			continue
		}
		action := "disable access key"
		if k.Enabled {
			action = "enable access key"
		}
		f.audit(r.Context(), app, AuditEntry{At: k.ChangedAt, By: k.ChangedBy, Action: action, Detail: id})
		k.Secret = ""
		return r.JSON(fasthttp.StatusOK, k)
	}
	return busy("change the access key")
}

func (f *Function) deleteKey(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	id, err := keyParam(r)
	if err != nil {
		return err
	}
	if err := f.canWrite(r, app, false); err != nil {
		return err
	}
	var k AccessKey
	if _, ok, err := f.getJSON(r.Context(), keyPath(app, id), &k); err != nil {
		return err
	} else if !ok {
		return httperr.NotFound("access key %s of app %s not found", id, app)
	}
	if err := f.del(r.Context(), keyPath(app, id)); err != nil {
		return err
	}
	f.audit(r.Context(), app, AuditEntry{At: f.opts.Now().UTC(), By: r.Principal.Name, Action: "delete access key", Detail: id})
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
