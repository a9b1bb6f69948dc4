package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

func validApp(s string) bool { return catalog.ValidApp(s) }

// errNoRecord is returned by loadRecord for a deploy that is not stored.
var errNoRecord = errors.New("no such deploy")

// unavailable wraps a store error for the API (503).
func unavailable(err error, format string, args ...any) error {
	return httperr.Unavailable(err, format, args...)
}

// scan visits every entry under prefix, page by page.
func (f *Function) scan(ctx context.Context, prefix string, visit func(store.Entry) error) error {
	for e, err := range store.Entries(ctx, f.st, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return unavailable(err, "cannot list %s: store unavailable", prefix)
		}
		if err := visit(e); err != nil {
			return err
		}
	}
	return nil
}

// get reads one key; found is false when it does not exist.
func (f *Function) get(ctx context.Context, key string) (e store.Entry, found bool, err error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	e, err = f.st.Get(cctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Entry{}, false, nil
	case err != nil:
		return store.Entry{}, false, unavailable(err, "cannot read %s: store unavailable", key)
	}
	return e, true, nil
}

// cas writes key at version expect (0: must not exist); it returns
// store.ErrConflict or store.ErrNotFound as they are, other errors as 503s.
func (f *Function) cas(ctx context.Context, key string, expect uint64, value []byte, ttl time.Duration) (uint64, error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	v, err := f.st.CompareAndSwap(cctx, key, expect, value, store.PutOptions{TTL: ttl})
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		f.m.conflicts.Inc()
		return 0, err
	case err != nil:
		return 0, unavailable(err, "cannot write %s: store unavailable", key)
	}
	return v, nil
}

// cad deletes key at version expect; a key gone or changed meanwhile is
// not an error.
func (f *Function) cad(ctx context.Context, key string, expect uint64) error {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	_, err := f.st.CompareAndDelete(cctx, key, expect)
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		return unavailable(err, "cannot delete %s: store unavailable", key)
	}
	return nil
}

// loadRecord reads a deploy's record and its store version; errNoRecord
// when there is none.
func (f *Function) loadRecord(ctx context.Context, app, id string) (*plan.Record, uint64, error) {
	e, ok, err := f.get(ctx, RecordKey(app, id))
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, errNoRecord
	}
	rec, err := plan.ParseRecord(e.Value)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot load deploy %s: %w", id, err)
	}
	return rec, e.Version, nil
}

// writeRecord stores rec at version expect (0: create).
func (f *Function) writeRecord(ctx context.Context, rec *plan.Record, expect uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("cannot encode deploy %s: %w", rec.ID, err)
	}
	return f.cas(ctx, RecordKey(rec.App, rec.ID), expect, b, 0)
}

// activeValue is the value of deploy/active/<app>.
type activeValue struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// activeEntry is one active deploy as the driver lists them.
type activeEntry struct {
	App string
	activeValue
	Version uint64
}

// active reads the app's active deploy; found false when there is none.
func (f *Function) active(ctx context.Context, app string) (activeEntry, bool, error) {
	e, ok, err := f.get(ctx, ActiveKey(app))
	if err != nil || !ok {
		return activeEntry{}, false, err
	}
	a := activeEntry{App: app, Version: e.Version}
	if err := json.Unmarshal(e.Value, &a.activeValue); err != nil {
		return activeEntry{}, false, fmt.Errorf("cannot decode %s: %w", e.Key, err)
	}
	return a, true, nil
}

// listActive returns every active deploy.
func (f *Function) listActive(ctx context.Context) ([]activeEntry, error) {
	var out []activeEntry
	err := f.scan(ctx, activePrefix, func(e store.Entry) error {
		a := activeEntry{App: strings.TrimPrefix(e.Key, activePrefix), Version: e.Version}
		if err := json.Unmarshal(e.Value, &a.activeValue); err != nil {
			f.log.Error("cannot decode an active deploy key", "key", e.Key, "err", err)
			return nil
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// deactivate deletes the app's active key if it still names id.
func (f *Function) deactivate(ctx context.Context, app, id string) error {
	a, ok, err := f.active(ctx, app)
	if err != nil || !ok || a.ID != id {
		return err
	}
	return f.cad(ctx, ActiveKey(app), a.Version)
}

// owner returns the app's team, or "" when the app was never pushed.
func (f *Function) owner(ctx context.Context, app string) (string, error) {
	e, ok, err := f.get(ctx, artifactOwnerKey(app))
	if err != nil || !ok {
		return "", err
	}
	return string(e.Value), nil
}

// artifact returns the pushed artifact version of app (404 if none).
func (f *Function) artifact(ctx context.Context, app, version string) (plan.Release, error) {
	e, ok, err := f.get(ctx, catalog.MetaKey(app, version))
	if err != nil {
		return plan.Release{}, err
	}
	if !ok {
		return plan.Release{}, httperr.NotFound("version %q of app %q not found: push it first", version, app)
	}
	var m catalog.Meta
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return plan.Release{}, fmt.Errorf("cannot decode the metadata of %s %s: %w", app, version, err)
	}
	return plan.Release{Version: version, SHA256: m.SHA256}, nil
}

// goodReleases is the value of deploy/last-good/<app>.
type goodReleases struct {
	// Releases are the app's good releases, newest first: [0] is what
	// the last succeeded deploy left running.
	Releases []plan.Release `json:"releases"`
	// Deploy is the last deploy that changed Releases (so that finishing
	// a deploy twice changes them once).
	Deploy string    `json:"deploy,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// except returns the newest good release other than version, or zero.
func (g goodReleases) except(version string) plan.Release {
	for _, r := range g.Releases {
		if r.Version != version {
			return r
		}
	}
	return plan.Release{}
}

func (f *Function) loadGood(ctx context.Context, app string) (goodReleases, uint64, error) {
	var g goodReleases
	e, ok, err := f.get(ctx, LastGoodKey(app))
	if err != nil || !ok {
		return g, 0, err
	}
	if err := json.Unmarshal(e.Value, &g); err != nil {
		return g, 0, fmt.Errorf("cannot decode %s: %w", e.Key, err)
	}
	return g, e.Version, nil
}

// recordGood puts a succeeded deploy's release first among the app's
// good releases; a rollback also drops the release it rolled back from.
func (f *Function) recordGood(ctx context.Context, rec *plan.Record, now time.Time) error {
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		g, ver, err := f.loadGood(ctx, rec.App)
		if err != nil {
			return err
		}
		if g.Deploy == rec.ID {
			return nil
		}
		rel := plan.Release{Version: rec.Version, SHA256: rec.SHA256}
		g.Releases = slices.DeleteFunc(g.Releases, func(r plan.Release) bool {
			return r.Version == rel.Version || rec.Rollback && r.Version == rec.Previous.Version
		})
		g.Releases = append([]plan.Release{rel}, g.Releases...)
		if len(g.Releases) > maxGood {
			g.Releases = g.Releases[:maxGood]
		}
		g.Deploy, g.At = rec.ID, now
		b, _ := json.Marshal(g)
		_, err = f.cas(ctx, LastGoodKey(rec.App), ver, b, 0)
		return store.AsConflict(err)
	})
	if err != nil {
		return fmt.Errorf("cannot record the good release of %s: %w", rec.App, err)
	}
	return nil
}

func isConflict(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

// updateLive rewrites the app's live versions with compare-and-swap:
// change gets the current set and returns the new one.
func (f *Function) updateLive(ctx context.Context, app string, change func(cur map[string]bool) (map[string]bool, error)) error {
	key := catalog.LiveKey(app)
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		e, ok, err := f.get(ctx, key)
		if err != nil {
			return err
		}
		cur := map[string]bool{}
		if ok {
			versions, err := catalog.ParseLive(e.Value)
			if err != nil {
				return fmt.Errorf("cannot decode %s: %w", key, err)
			}
			for _, s := range versions {
				cur[s] = true
			}
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		list := make([]string, 0, len(next))
		for s := range next {
			if s != "" {
				list = append(list, s)
			}
		}
		slices.Sort(list)
		_, err = f.cas(ctx, key, e.Version, catalog.LiveValue(list...), 0)
		return store.AsConflict(err)
	})
	if err != nil {
		return fmt.Errorf("cannot update the live versions of %s: %w", app, err)
	}
	return nil
}

// protect adds versions to the app's live versions, so that artifact GC
// keeps them while a deploy uses them.
func (f *Function) protect(ctx context.Context, app string, versions ...string) error {
	return f.updateLive(ctx, app, func(cur map[string]bool) (map[string]bool, error) {
		for _, v := range versions {
			cur[v] = true
		}
		return cur, nil
	})
}

// refreshLive recomputes the app's live versions after rec ended: the two
// newest good releases (what runs and the rollback target), what the
// live hosts report running (and keep as previous), the active deploy's
// versions, and rec's own unless all its targets are back or on it.
func (f *Function) refreshLive(ctx context.Context, rec *plan.Record) error {
	app := rec.App
	return f.updateLive(ctx, app, func(map[string]bool) (map[string]bool, error) {
		next := map[string]bool{rec.Previous.Version: true}
		if rec.State != plan.StateRolledBack {
			next[rec.Version] = true
		}
		g, _, err := f.loadGood(ctx, app)
		if err != nil {
			return nil, err
		}
		for i, r := range g.Releases {
			if i < 2 {
				next[r.Version] = true
			}
		}
		hosts, err := f.liveHosts(ctx)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if s, ok := h.Apps[app]; ok {
				next[s.Version], next[s.Previous] = true, true
			}
		}
		if a, ok, err := f.active(ctx, app); err != nil {
			return nil, err
		} else if ok && a.ID != rec.ID {
			other, _, err := f.loadRecord(ctx, app, a.ID)
			switch {
			case errors.Is(err, errNoRecord):
			case err != nil:
				return nil, err
			default:
				next[other.Version], next[other.Previous.Version] = true, true
			}
		}
		return next, nil
	})
}

// index is the value of deploy/index/<app>.
type index struct {
	IDs []string `json:"ids"`
}

func (f *Function) loadIndex(ctx context.Context, app string) (index, uint64, error) {
	var ix index
	e, ok, err := f.get(ctx, indexKey(app))
	if err != nil || !ok {
		return ix, 0, err
	}
	if err := json.Unmarshal(e.Value, &ix); err != nil {
		return ix, 0, fmt.Errorf("cannot decode %s: %w", e.Key, err)
	}
	return ix, e.Version, nil
}

// addToIndex puts id first in the app's history and deletes the records
// that fall off its end (MaxHistory), unless they are still running.
func (f *Function) addToIndex(ctx context.Context, app, id string) error {
	return store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		ix, ver, err := f.loadIndex(ctx, app)
		if err != nil {
			return err
		}
		ids := append([]string{id}, slices.DeleteFunc(ix.IDs, func(s string) bool { return s == id })...)
		var dropped []string
		if len(ids) > MaxHistory {
			ids, dropped = ids[:MaxHistory], ids[MaxHistory:]
		}
		b, _ := json.Marshal(index{IDs: ids})
		if _, err := f.cas(ctx, indexKey(app), ver, b, 0); err != nil {
			return fmt.Errorf("cannot add deploy %s to the history of %s: %w", id, app, store.AsConflict(err))
		}
		for _, old := range dropped {
			rec, v, err := f.loadRecord(ctx, app, old)
			if err == nil && rec.Done() {
				err = f.cad(ctx, RecordKey(app, old), v)
			}
			if err != nil && !errors.Is(err, errNoRecord) {
				f.log.Warn("cannot delete an old deploy record", "app", app, "deploy", old, "err", err)
			}
		}
		return nil
	})
}
