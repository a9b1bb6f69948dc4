package artifacts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// RetainResult lists what Retain deleted, as "app/version".
type RetainResult struct {
	Deleted []string `json:"deleted"`
}

// Retain applies the retention policy to every app: it keeps the keepLast
// newest versions, every version in use (deploys/live/<app>) and every
// version deployed within deployedWithin (Meta.LastDeployedAt), and deletes
// the rest. keepLast < 1 keeps everything (Retain does nothing).
func (f *Function) Retain(ctx context.Context, keepLast int, deployedWithin time.Duration) (RetainResult, error) {
	res := RetainResult{Deleted: []string{}}
	if keepLast < 1 {
		return res, nil
	}
	var apps []string
	if err := f.scan(ctx, ownersPrefix, func(e store.Entry) error {
		apps = append(apps, strings.TrimPrefix(e.Key, ownersPrefix))
		return nil
	}); err != nil {
		return res, err
	}
	cutoff := f.opts.Now().Add(-deployedWithin)
	for _, app := range apps {
		ms, err := f.listMeta(ctx, app)
		if err != nil {
			return res, err
		}
		if len(ms) <= keepLast {
			continue
		}
		live, err := f.liveVersions(ctx, app)
		if err != nil {
			return res, err
		}
		for _, m := range ms[keepLast:] {
			if live[m.Version] || m.LastDeployedAt != nil && deployedWithin > 0 && m.LastDeployedAt.After(cutoff) {
				continue
			}
			_, rev, err := f.getMeta(ctx, app, m.Version)
			if err != nil {
				if isStatus(err, fasthttp.StatusNotFound) {
					continue
				}
				return res, err
			}
			if err := f.deleteVersion(ctx, app, m.Version, rev); err != nil {
				return res, err
			}
			res.Deleted = append(res.Deleted, app+"/"+m.Version)
			f.log.Info("retention deleted an artifact", "app", app, "version", m.Version)
		}
	}
	return res, nil
}

// GCResult is what GC removed.
type GCResult struct {
	// Orphans are blob keys that had no metadata.
	Orphans []string `json:"orphans"`
	// Incomplete counts abandoned uploads cleaned up by the backend.
	Incomplete int `json:"incomplete"`
}

// GC removes blobs without metadata older than Options.OrphanGrace (left by
// a push whose metadata write failed, or by a crash) and the backend's
// leftovers of interrupted uploads (blob.Backend.CleanupIncomplete).
func (f *Function) GC(ctx context.Context) (GCResult, error) {
	res := GCResult{Orphans: []string{}}
	cutoff := f.opts.Now().Add(-f.opts.OrphanGrace)
	after := ""
	for {
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		page, err := f.be.List(lctx, catalog.BlobPrefix, blob.ListOptions{After: after})
		cancel()
		if err != nil {
			return res, fmt.Errorf("cannot list blobs: %w", err)
		}
		for _, it := range page.Items {
			if !it.Modified.Before(cutoff) {
				continue
			}
			app, version, ok := strings.Cut(strings.TrimPrefix(it.Key, catalog.BlobPrefix), "/")
			if ok {
				cctx, cancel := f.storeCtx(ctx)
				_, err := f.st.Get(cctx, catalog.MetaKey(app, version))
				cancel()
				if err == nil {
					continue
				}
				if !errors.Is(err, store.ErrNotFound) {
					return res, fmt.Errorf("cannot check metadata of %s: %w", it.Key, err)
				}
			}
			dctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := f.be.Delete(dctx, it.Key)
			cancel()
			if err != nil && !errors.Is(err, blob.ErrNotFound) {
				return res, fmt.Errorf("cannot delete orphan %s: %w", it.Key, err)
			}
			res.Orphans = append(res.Orphans, it.Key)
			f.log.Info("GC deleted an orphaned blob", "key", it.Key)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	n, err := f.be.CleanupIncomplete(ctx, f.opts.IncompleteAge)
	res.Incomplete = n
	if err != nil {
		return res, fmt.Errorf("cannot clean up incomplete uploads: %w", err)
	}
	return res, nil
}

// GCResponse is the answer of POST /api/v1/artifacts/gc.
type GCResponse struct {
	Retain *RetainResult `json:"retain,omitempty"`
	GC     GCResult      `json:"gc"`
}

// gc runs retention (when ?keep_last=N is given, with ?deployed_within=D,
// a Go duration) and then GC: POST /api/v1/artifacts/gc.
func (f *Function) gc(r *fnapi.Request) error {
	args := r.Ctx.QueryArgs()
	var out GCResponse
	if s := string(args.Peek("keep_last")); s != "" {
		keep, err := strconv.Atoi(s)
		if err != nil || keep < 1 {
			return httperr.BadRequest("keep_last: want a whole number of at least 1, got %q", s)
		}
		var within time.Duration
		if d := string(args.Peek("deployed_within")); d != "" {
			if within, err = time.ParseDuration(d); err != nil || within < 0 {
				return httperr.BadRequest("deployed_within: want a Go duration such as 720h, got %q", d)
			}
		}
		res, err := f.Retain(r.Context(), keep, within)
		if err != nil {
			return gcError(err)
		}
		out.Retain = &res
	}
	res, err := f.GC(r.Context())
	if err != nil {
		return gcError(err)
	}
	out.GC = res
	r.Log.Info("artifact GC ran", "orphans", len(res.Orphans), "incomplete", res.Incomplete, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, out)
}

func gcError(err error) error {
	var he *httperr.Error
	if errors.As(err, &he) {
		return he
	}
	if errors.Is(err, blob.ErrUnavailable) || errors.Is(err, store.ErrClosed) {
		return httperr.Unavailable(err, "cannot collect garbage: storage unavailable")
	}
	return err
}
