package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// sortNewestFirst orders versions by creation time, newest first (ties by
// version, descending).
func sortNewestFirst(ms []catalog.Meta) {
	slices.SortStableFunc(ms, func(a, b catalog.Meta) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Version, a.Version)
	})
}

// ListResponse is the answer of GET /api/v1/apps/{app}/artifacts.
type ListResponse struct {
	App       string         `json:"app"`
	Team      string         `json:"team"`
	Artifacts []catalog.Meta `json:"artifacts"`
}

func (f *Function) list(r *fnapi.Request) error {
	app, _, err := params(r, false)
	if err != nil {
		return err
	}
	team, err := f.canRead(r, app)
	if err != nil {
		return err
	}
	ms, err := f.listMeta(r.Context(), app)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []catalog.Meta{}
	}
	return r.JSON(fasthttp.StatusOK, ListResponse{App: app, Team: team, Artifacts: ms})
}

// readableVersion reads the app and version from the path, checks the caller
// may read the app, and returns the version's metadata.
func (f *Function) readableVersion(r *fnapi.Request) (app, version string, m catalog.Meta, err error) {
	if app, version, err = params(r, true); err != nil {
		return "", "", catalog.Meta{}, err
	}
	if _, err = f.canRead(r, app); err != nil {
		return "", "", catalog.Meta{}, err
	}
	m, _, err = f.getMeta(r.Context(), app, version)
	return app, version, m, err
}

func (f *Function) show(r *fnapi.Request) error {
	_, _, m, err := f.readableVersion(r)
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, m)
}

// cancelOnClose ends the context of a blob stream when fasthttp closes the
// body after sending it, which happens after the handler returned.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// download streams the bundle with its size and SHA-256.
func (f *Function) download(r *fnapi.Request) error {
	app, version, m, err := f.readableVersion(r)
	if err != nil {
		return err
	}
	// The body is sent after this handler returns: its context must live
	// until fasthttp closes the reader, not end with the handler.
	ctx, cancel := context.WithCancel(r.Context())
	rc, info, err := f.be.Get(ctx, catalog.BlobKey(app, version))
	if err != nil {
		cancel()
		switch {
		case errors.Is(err, blob.ErrNotFound):
			return httperr.NotFound("version %q of app %q has metadata but no bundle; push it again after deleting it", version, app)
		case errors.Is(err, blob.ErrUnavailable):
			return httperr.Unavailable(err, "cannot read the bundle: storage unavailable")
		}
		return fmt.Errorf("cannot open %s %s: %w", app, version, err)
	}
	if info.Size != m.Size {
		_ = rc.Close()
		cancel()
		return fmt.Errorf("cannot serve %s %s: stored bundle has %d bytes, metadata says %d", app, version, info.Size, m.Size)
	}
	h := &r.Ctx.Response.Header
	h.Set(HeaderSHA256, m.SHA256)
	h.SetContentType("application/octet-stream")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.bundle"`, app, version))
	r.Ctx.SetStatusCode(fasthttp.StatusOK)
	r.Ctx.SetBodyStream(cancelOnClose{ReadCloser: rc, cancel: cancel}, int(m.Size))
	return nil
}

// URLResponse is the answer of GET .../{version}/url. On a backend without
// presigned URLs (disk), URL is the gateway's download path and NeedsToken
// says to send the bearer token with it.
type URLResponse struct {
	URL        string     `json:"url"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	NeedsToken bool       `json:"needs_token,omitempty"`
}

func (f *Function) url(r *fnapi.Request) error {
	app, version, m, err := f.readableVersion(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.StoreTimeout)
	defer cancel()
	u, err := f.be.PresignGet(ctx, catalog.BlobKey(app, version), f.opts.PresignExpiry)
	switch {
	case errors.Is(err, blob.ErrNotSupported):
		return r.JSON(fasthttp.StatusOK, URLResponse{
			URL:    fmt.Sprintf("/api/v1/apps/%s/artifacts/%s/download", app, version),
			SHA256: m.SHA256, Size: m.Size, NeedsToken: true,
		})
	case err != nil:
		return httperr.Unavailable(err, "cannot presign a download URL: storage unavailable")
	}
	exp := f.opts.Now().Add(f.opts.PresignExpiry).UTC()
	return r.JSON(fasthttp.StatusOK, URLResponse{URL: u, SHA256: m.SHA256, Size: m.Size, ExpiresAt: &exp})
}

// remove deletes a version unless it is in use: DELETE .../{version}.
func (f *Function) remove(r *fnapi.Request) error {
	app, version, err := params(r, true)
	if err != nil {
		return err
	}
	team, err := f.owner(r.Context(), app)
	if err != nil {
		return err
	}
	if err := tenancy.AppAccess(r.Principal, app, team, true); err != nil {
		return err
	}
	_, rev, err := f.getMeta(r.Context(), app, version)
	if err != nil {
		return err
	}
	live, err := f.liveVersions(r.Context(), app)
	if err != nil {
		return err
	}
	if live[version] {
		return httperr.Conflict("version %q of app %q is in use by a live deploy; deploy another version first", version, app)
	}
	if err := f.deleteVersion(r.Context(), app, version, rev); err != nil {
		return err
	}
	r.Log.Info("artifact deleted", "app", app, "version", version, "by", r.Principal.Name)
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// deleteVersion removes the blob, then the metadata (at version rev), so a
// failure part-way can simply be retried.
func (f *Function) deleteVersion(ctx context.Context, app, version string, rev uint64) error {
	bctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := f.be.Delete(bctx, catalog.BlobKey(app, version))
	cancel()
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return httperr.Unavailable(err, "cannot delete the bundle: storage unavailable")
	}
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	_, err = f.st.CompareAndDelete(cctx, catalog.MetaKey(app, version), rev)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return nil // deleted (or changed) by someone else meanwhile
	case err != nil:
		return httperr.Unavailable(err, "cannot delete the metadata: store unavailable")
	}
	return nil
}
