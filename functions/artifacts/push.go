package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// quotaError refuses a push that would take a team over its quota (413).
type quotaError struct {
	team             string
	used, size, quot int64
}

func (e *quotaError) Error() string {
	return fmt.Sprintf("team %q quota of %d bytes exceeded: %d bytes stored, this bundle has %d", e.team, e.quot, e.used, e.size)
}

// appMismatchError refuses a bundle whose manifest names another app (400).
type appMismatchError struct{ path, manifest string }

func (e *appMismatchError) Error() string {
	return fmt.Sprintf("manifest: app: the bundle's wharf.yaml says app %q, but it is pushed to app %q", e.manifest, e.path)
}

// push streams a bundle into storage: PUT /api/v1/apps/{app}/artifacts/{version}.
func (f *Function) push(r *fnapi.Request) error {
	// A refusal before the body was read drains a small body first, so the
	// client reads the answer instead of a reset; either way the
	// connection closes, since the rest of a larger body is unread.
	early := func(err error) error {
		f.drainSmall(r)
		r.Ctx.SetConnectionClose()
		return err
	}
	fail := func(err error) error {
		r.Ctx.SetConnectionClose()
		return err
	}
	app, version, err := params(r, true)
	if err != nil {
		return early(err)
	}
	expect := string(r.Ctx.Request.Header.Peek(HeaderSHA256))
	if expect != "" {
		if expect, err = blob.NormalizeSHA256(expect); err != nil {
			return early(httperr.BadRequest("%s: %v", HeaderSHA256, err))
		}
	}
	team, err := f.canPush(r, app)
	if err != nil {
		return early(err)
	}
	if team == "" {
		if team, err = f.claimFor(r, app); err != nil {
			return early(err)
		}
	}
	ctx := r.Context()
	if _, _, err := f.getMeta(ctx, app, version); err == nil {
		return early(existsError(app, version))
	} else if !isStatus(err, fasthttp.StatusNotFound) {
		return early(err)
	}
	size := int64(r.Ctx.Request.Header.ContentLength())
	if size < 0 {
		size = -1
	}
	if f.opts.Quota > 0 && size > 0 {
		used, err := f.usage(ctx, team)
		if err != nil {
			return early(err)
		}
		if used+size > f.opts.Quota {
			return early(httperr.New(fasthttp.StatusRequestEntityTooLarge, "%s", (&quotaError{team, used, size, f.opts.Quota}).Error()))
		}
	}
	body, err := r.BodyStream()
	if err != nil {
		return fail(err)
	}
	sniff := bundle.NewSniffer(f.opts.Unpack)
	defer sniff.Close()
	meta := catalog.Meta{App: app, Version: version, Team: team, Uploader: r.Principal.Name}
	before := func(info blob.Info) error {
		m, err := sniff.Finish()
		if err != nil {
			return err
		}
		if m.App != app {
			return &appMismatchError{path: app, manifest: m.App}
		}
		meta.Manifest = m
		if f.opts.Quota > 0 {
			used, err := f.usage(ctx, team)
			if err != nil {
				return err
			}
			if used+info.Size > f.opts.Quota {
				return &quotaError{team, used, info.Size, f.opts.Quota}
			}
		}
		return nil
	}
	info, err := f.be.Put(ctx, catalog.BlobKey(app, version), io.TeeReader(body, sniff), size, blob.PutOptions{ExpectSHA256: expect, BeforeCommit: before})
	if err != nil {
		return fail(f.pushError(err, r.MaxBody, app, version))
	}
	meta.SHA256, meta.Size, meta.CreatedAt = info.SHA256, info.Size, f.opts.Now().UTC()
	if err := f.writeMeta(ctx, meta); err != nil {
		f.dropBlob(catalog.BlobKey(app, version))
		return err
	}
	r.Log.Info("artifact pushed", "app", app, "version", version, "size", info.Size, "sha256", info.SHA256, "by", r.Principal.Name)
	r.Ctx.Response.Header.Set(fasthttp.HeaderLocation, fmt.Sprintf("/api/v1/apps/%s/artifacts/%s", app, version))
	return r.JSON(fasthttp.StatusCreated, meta)
}

// claimFor claims an app nobody owns for the caller's team, unless its
// name is reserved for another team, and returns the owner then in place
// (another push may have claimed it first).
func (f *Function) claimFor(r *fnapi.Request, app string) (string, error) {
	res, err := f.reservation(r.Context(), app)
	if err != nil {
		return "", err
	}
	claim, err := claimTeam(r.Principal, app, res)
	if err != nil {
		return "", err
	}
	if err := tenancy.CheckClaim(app, claim, res); err != nil {
		return "", err
	}
	team, err := f.claim(r.Context(), app, claim)
	if err != nil {
		return "", err
	}
	if team != claim && !r.Principal.Allows(auth.TeamScope(team)) {
		return "", takenError(app)
	}
	return team, nil
}

// drainLimit is the largest body drainSmall reads and discards.
const drainLimit = 4 << 20

// drainSmall discards a request body of at most drainLimit bytes.
func (f *Function) drainSmall(r *fnapi.Request) {
	if cl := r.Ctx.Request.Header.ContentLength(); cl == 0 || cl > drainLimit {
		return
	}
	body, err := r.BodyStream()
	if err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, drainLimit+1)
}

func existsError(app, version string) error {
	return httperr.Conflict("version %q of app %q already exists: versions are immutable, push a new version", version, app)
}

func isStatus(err error, status int) bool {
	var he *httperr.Error
	return errors.As(err, &he) && he.Status == status
}

// writeMeta records a pushed version; it must not exist yet.
func (f *Function) writeMeta(ctx context.Context, m catalog.Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode metadata: %w", err)
	}
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	_, err = f.st.CompareAndSwap(cctx, catalog.MetaKey(m.App, m.Version), 0, b, store.PutOptions{})
	switch {
	case errors.Is(err, store.ErrConflict):
		return existsError(m.App, m.Version)
	case err != nil:
		return httperr.Unavailable(err, "cannot record the artifact: store unavailable; nothing was kept, push again")
	}
	return nil
}

// dropBlob removes a blob whose metadata could not be written, on its own
// context: the request's may be what failed.
func (f *Function) dropBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.be.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		f.log.Warn("cannot delete a blob without metadata; GC will", "key", key, "err", err)
	}
}

// pushError maps a failed Put to the client's answer, following the blob
// package's error classes. Nothing was kept in any case.
func (f *Function) pushError(err error, maxBody int64, app, version string) error {
	var (
		he  *httperr.Error
		qe  *quotaError
		ame *appMismatchError
		me  *bundle.ManifestError
		le  *bundle.LimitError
		re  *blob.ReadError
		ce  *bodylimit.ClientError
	)
	switch {
	case errors.As(err, &he):
		return he // a store failure inside BeforeCommit
	case errors.As(err, &qe):
		return httperr.New(fasthttp.StatusRequestEntityTooLarge, "%s", qe.Error())
	case errors.As(err, &ame):
		return httperr.BadRequest("%s", ame.Error())
	case errors.As(err, &le):
		return httperr.New(fasthttp.StatusRequestEntityTooLarge, "%s; nothing was kept", le.Error())
	case errors.As(err, &me):
		return httperr.BadRequest("invalid manifest: %s", me.Error())
	case errors.Is(err, bundle.ErrNotBundle):
		return httperr.BadRequest("%v", bundle.ErrNotBundle)
	case errors.Is(err, bundle.ErrCorrupt):
		return httperr.BadRequest("corrupt bundle: %v", err)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return bodylimit.TooLarge(maxBody)
	case errors.Is(err, blob.ErrExists):
		return existsError(app, version)
	case errors.Is(err, blob.ErrChecksum):
		return httperr.BadRequest("%s: the body does not match: %v", HeaderSHA256, err)
	case errors.Is(err, blob.ErrInvalid):
		return httperr.BadRequest("%v", err)
	case errors.As(err, &ce), errors.As(err, &re):
		return httperr.Wrap(fasthttp.StatusBadRequest, err, "cannot read request body")
	case errors.Is(err, blob.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return httperr.Unavailable(err, "cannot store the bundle: storage unavailable; nothing was kept, push again")
	}
	return fmt.Errorf("cannot store %s %s: %w", app, version, err)
}
