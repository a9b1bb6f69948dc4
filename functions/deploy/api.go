package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Deploy starts a deploy of spec.Version of app for who: it resolves the
// artifact (404 if not pushed), selects the targets among the live hosts
// (409 naming the selector when none fits), records the previous good
// release for rollbacks and stores the record as the app's one active
// deploy (a *BusyError if another runs). The driver starts it at once.
// The caller has checked that who may deploy app (the handler does).
func (f *Function) Deploy(ctx context.Context, app, who string, spec plan.Spec) (*plan.Record, error) {
	if !validApp(app) {
		return nil, httperr.BadRequest("app: invalid name %q", app)
	}
	if err := spec.Validate(); err != nil {
		return nil, fieldsError(fasthttp.StatusBadRequest, "invalid deploy", err)
	}
	if spec.Health.ErrorRateMax > 0 && f.opts.Gate == nil {
		return nil, fieldsError(fasthttp.StatusBadRequest, "invalid deploy", &plan.FieldError{
			Field: "health.error_rate_max", Msg: "error-rate gate needs a gate source, and this deploy function has none; leave it out",
		})
	}
	rel, err := f.artifact(ctx, app, spec.Version)
	if err != nil {
		return nil, err
	}
	hosts, err := f.liveHosts(ctx)
	if err != nil {
		return nil, err
	}
	pool := planHosts(hosts, nil)
	if spec.Targets.All {
		// all: the live hosts that run the app; for its first deploy
		// (no host runs it yet), every live host.
		runs, err := f.runsApp(ctx, app, hosts)
		if err != nil {
			return nil, err
		}
		if running := planHosts(hosts, func(h wire.Host) bool { return runs[h.ID] }); len(running) > 0 {
			pool = running
		}
	}
	targets, err := plan.SelectTargets(spec, pool)
	if err != nil {
		return nil, fieldsError(fasthttp.StatusConflict, "cannot select targets", err)
	}
	good, _, err := f.loadGood(ctx, app)
	if err != nil {
		return nil, err
	}
	prev := good.except(spec.Version)
	now := f.opts.Now()
	rec, err := plan.NewRecord(newID(app, now), app, rel, prev, who, spec, targets, now)
	if err != nil {
		return nil, fieldsError(fasthttp.StatusBadRequest, "invalid deploy", err)
	}
	if err := f.protect(ctx, app, rel.Version, prev.Version); err != nil {
		return nil, err
	}
	if err := f.start(ctx, rec, now); err != nil {
		return nil, err
	}
	f.m.created.Inc()
	f.log.Info("deploy created", "app", app, "deploy", rec.ID, "version", rec.Version,
		"previous", prev.Version, "targets", len(targets), "steps", len(rec.Steps), "who", who)
	return rec, nil
}

// start records the placements of the app on its targets, stores a new
// record, makes it the app's active deploy and wakes the driver. The record is written first, so an active key always has a
// record; when the claim fails the record is deleted again. The caller
// protected the record's versions before; start protects them again once
// the deploy is active, because finishing the deploy it replaced
// recomputes the live versions from the active deploy, which may have been
// the old one when that recomputation read it.
func (f *Function) start(ctx context.Context, rec *plan.Record, now time.Time) error {
	if err := f.place(ctx, rec); err != nil {
		return err
	}
	ver, err := f.writeRecord(ctx, rec, 0)
	if err != nil {
		if isConflict(err) {
			return httperr.Conflict("deploy %s exists already", rec.ID)
		}
		return err
	}
	if err := f.claim(ctx, rec.App, rec.ID, now); err != nil {
		if derr := f.cad(context.WithoutCancel(ctx), RecordKey(rec.App, rec.ID), ver); derr != nil {
			f.log.Warn("cannot delete the record of a deploy that did not start", "deploy", rec.ID, "err", derr)
		}
		return err
	}
	if err := f.protect(ctx, rec.App, rec.Version, rec.Previous.Version); err != nil {
		f.log.Warn("cannot protect the versions of a deploy from artifact GC", "deploy", rec.ID, "err", err)
	}
	if err := f.addToIndex(ctx, rec.App, rec.ID); err != nil {
		f.log.Warn("cannot add a deploy to the history", "deploy", rec.ID, "err", err)
	}
	f.poke()
	return nil
}

// claim makes id the app's active deploy. An active key naming a deploy
// that is done is finished first (its bookkeeping may not have run); one
// naming a missing record is replaced; a running deploy is a *BusyError.
func (f *Function) claim(ctx context.Context, app, id string, now time.Time) error {
	val, _ := json.Marshal(activeValue{ID: id, At: now.UTC()})
	err := store.Retry(ctx, store.RetryOptions{Attempts: 5}, func(ctx context.Context) error {
		a, ok, err := f.active(ctx, app)
		if err != nil {
			return err
		}
		expect := uint64(0)
		if ok {
			other, _, err := f.loadRecord(ctx, app, a.ID)
			switch {
			case errors.Is(err, errNoRecord):
				expect = a.Version
			case err != nil:
				return err
			case other.Done():
				if err := f.finish(ctx, other); err != nil {
					return err
				}
				return store.ErrConflict // read the active key again
			default:
				return busy(other, "pause, abort or roll it back first")
			}
		}
		_, err = f.cas(ctx, ActiveKey(app), expect, val, 0)
		return store.AsConflict(err)
	})
	if errors.Is(err, store.ErrContention) {
		return httperr.Conflict("app %q: another deploy started meanwhile; try again", app)
	}
	return err
}

// RollbackRequest is the body of POST /api/v1/apps/{app}/rollback.
type RollbackRequest struct {
	// To is the version to go back to; empty means the last good release
	// (one further back when the latest deploy succeeded).
	To string `json:"to,omitempty"`
	// Why is the operator's reason.
	Why string `json:"why,omitempty"`
}

// errRetry asks Rollback to start over: the app's active deploy changed.
var errRetry = errors.New("active deploy changed")

// Rollback starts a rollback deploy of app to req.To or the last good
// release, over the app's live hosts (see the package comment). A deploy
// running is aborted first, without its own auto-rollback; its id is
// returned as superseded.
func (f *Function) Rollback(ctx context.Context, app, who string, req RollbackRequest) (rec *plan.Record, superseded string, err error) {
	if !validApp(app) {
		return nil, "", httperr.BadRequest("app: invalid name %q", app)
	}
	if req.To != "" && !catalog.ValidVersion(req.To) {
		return nil, "", httperr.BadRequest("to: invalid version %q: use 1-128 of A-Z, a-z, 0-9, '.', '_', '-', '+', starting with a letter or digit", req.To)
	}
	if len(req.Why) > plan.MaxWhy {
		return nil, "", httperr.BadRequest("why: at most %d bytes", plan.MaxWhy)
	}
	for range 3 {
		rec, superseded, err = f.rollbackOnce(ctx, app, who, req)
		if !errors.Is(err, errRetry) {
			return rec, superseded, err
		}
	}
	return nil, "", httperr.Conflict("app %q: deploys keep starting while rolling back; try again", app)
}

func (f *Function) rollbackOnce(ctx context.Context, app, who string, req RollbackRequest) (*plan.Record, string, error) {
	good, _, err := f.loadGood(ctx, app)
	if err != nil {
		return nil, "", err
	}
	// running is the app's active deploy if not done; else latest is the
	// app's newest deploy.
	var running, latest *plan.Record
	var runVer uint64
	if a, ok, err := f.active(ctx, app); err != nil {
		return nil, "", err
	} else if ok {
		r, v, err := f.loadRecord(ctx, app, a.ID)
		switch {
		case errors.Is(err, errNoRecord):
		case err != nil:
			return nil, "", err
		case !r.Done():
			running, runVer = r, v
		}
	}
	if running != nil && running.State == plan.StateRollingBack {
		return nil, "", busy(running, "it is rolling back to "+running.Previous.Version+"; wait for it to end")
	}
	if running == nil {
		ix, _, err := f.loadIndex(ctx, app)
		if err != nil {
			return nil, "", err
		}
		if len(ix.IDs) > 0 {
			if latest, _, err = f.loadRecord(ctx, app, ix.IDs[0]); err != nil && !errors.Is(err, errNoRecord) {
				return nil, "", err
			}
		}
	}
	to, from, err := f.rollbackReleases(ctx, app, req.To, good, running, latest)
	if err != nil {
		return nil, "", err
	}
	targets, err := f.rollbackTargets(ctx, app, running, latest)
	if err != nil {
		return nil, "", err
	}
	now := f.opts.Now()
	rec, err := plan.NewRollback(newID(app, now), app, to, from, who, plan.RollbackSpec(to.Version, req.Why), targets, now)
	if err != nil {
		return nil, "", fieldsError(fasthttp.StatusBadRequest, "invalid rollback", err)
	}
	if err := f.protect(ctx, app, to.Version, from.Version); err != nil {
		return nil, "", err
	}
	superseded := ""
	if running != nil {
		if err := f.supersede(ctx, running, runVer, rec, who, now); err != nil {
			return nil, "", err
		}
		superseded = running.ID
	}
	if err := f.start(ctx, rec, now); err != nil {
		var be *BusyError
		if errors.As(err, &be) {
			return nil, "", errRetry // a deploy started after the abort: abort it too
		}
		return nil, "", err
	}
	f.m.rollbacksMade.Inc()
	f.log.Info("rollback created", "app", app, "deploy", rec.ID, "to", to.Version, "from", from.Version,
		"superseded", superseded, "targets", len(targets), "who", who)
	return rec, superseded, nil
}

// rollbackReleases picks the release to go back to and the one rolled
// back from.
func (f *Function) rollbackReleases(ctx context.Context, app, want string, good goodReleases, running, latest *plan.Record) (to, from plan.Release, err error) {
	switch {
	case want != "":
		if to, err = f.artifact(ctx, app, want); err != nil {
			return to, from, err
		}
	case running != nil && running.Previous.Version != "":
		to = running.Previous
	case running != nil:
		to = good.except(running.Version)
	case latest != nil && latest.State == plan.StateSucceeded:
		to = good.except(latest.Version)
	case len(good.Releases) > 0:
		to = good.Releases[0]
	}
	if to.Version == "" {
		return to, from, httperr.Conflict("app %q has no good version to roll back to; name one with \"to\"", app)
	}
	switch {
	case running != nil:
		from = plan.Release{Version: running.Version, SHA256: running.SHA256}
	case latest != nil && latest.Version != to.Version:
		from = plan.Release{Version: latest.Version, SHA256: latest.SHA256}
	}
	return to, from, nil
}

// rollbackTargets are the live hosts that run the app (runsApp), and
// those the running (or latest) deploy moved.
func (f *Function) rollbackTargets(ctx context.Context, app string, running, latest *plan.Record) ([]plan.Target, error) {
	moved := map[string]bool{}
	for _, r := range []*plan.Record{running, latest} {
		if r == nil {
			continue
		}
		for _, t := range r.Targets {
			if t.Moved {
				moved[t.Host] = true
			}
		}
	}
	hosts, err := f.liveHosts(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := f.runsApp(ctx, app, hosts)
	if err != nil {
		return nil, err
	}
	pool := planHosts(hosts, func(h wire.Host) bool { return runs[h.ID] || moved[h.ID] })
	if len(pool) == 0 {
		return nil, fieldsError(fasthttp.StatusConflict, "cannot select targets", &plan.FieldError{
			Field: "targets", Msg: fmt.Sprintf("no live host runs app %q", app)})
	}
	targets, err := plan.SelectTargets(plan.Spec{Targets: plan.Targets{All: true}}, pool)
	if err != nil {
		return nil, fieldsError(fasthttp.StatusConflict, "cannot select targets", err)
	}
	return targets, nil
}

// supersede aborts the running deploy for the rollback rb, without its
// own auto-rollback (rb moves every host), and records why.
func (f *Function) supersede(ctx context.Context, running *plan.Record, ver uint64, rb *plan.Record, who string, now time.Time) error {
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		if running.Done() {
			return nil
		}
		if running.State == plan.StateRollingBack {
			return busy(running, "it is rolling back to "+running.Previous.Version+"; wait for it to end")
		}
		// Abort retreats when auto_rollback is on; turn it off for the
		// call only, so that the stored spec stays what was asked.
		saved, off := running.Spec.AutoRollback, false
		running.Spec.AutoRollback = &off
		err := running.Abort(now, who, fmt.Sprintf("superseded by rollback %s to %s", rb.ID, rb.Version))
		running.Spec.AutoRollback = saved
		if err != nil {
			return httperr.Conflict("cannot abort deploy %s for the rollback: %v", running.ID, err)
		}
		if n := len(running.Timeline); n > 0 && running.Timeline[n-1].Msg == "auto_rollback is off" {
			running.Timeline[n-1].Msg = fmt.Sprintf("rollback %s moves the targets to %s", rb.ID, rb.Version)
		}
		_, err = f.writeRecord(ctx, running, ver)
		if err == nil {
			f.poke()
			return nil
		}
		if err = store.AsConflict(err); !errors.Is(err, store.ErrConflict) {
			return err
		}
		var lerr error
		if running, ver, lerr = f.loadRecord(ctx, running.App, running.ID); lerr != nil {
			return lerr
		}
		return err // try again on the record read again
	})
	if errors.Is(err, store.ErrContention) {
		return errRetry
	}
	return err
}

// Action is an operator's control of a deploy.
type Action string

// Actions.
const (
	ActionPause  Action = "pause"
	ActionResume Action = "resume"
	ActionAbort  Action = "abort"
)

// Control pauses, resumes or aborts a deploy (a 409 when its state does
// not allow it, wrapping plan.ErrWrongState) and wakes the driver.
func (f *Function) Control(ctx context.Context, app, id string, action Action, who, why string) (*plan.Record, error) {
	if len(why) > plan.MaxWhy {
		return nil, httperr.BadRequest("why: at most %d bytes", plan.MaxWhy)
	}
	var out *plan.Record
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		rec, ver, err := f.Get(ctx, app, id)
		if err != nil {
			return err
		}
		now := f.opts.Now()
		switch action {
		case ActionPause:
			err = rec.Pause(now, who, why)
		case ActionResume:
			err = rec.Resume(now, who, why)
		case ActionAbort:
			err = rec.Abort(now, who, why)
		default:
			return httperr.BadRequest("action: want pause, resume or abort, got %q", action)
		}
		if errors.Is(err, plan.ErrWrongState) {
			return httperr.Conflict("deploy %s: %v", id, err)
		}
		if err != nil {
			return err
		}
		if _, err := f.writeRecord(ctx, rec, ver); err != nil {
			return store.AsConflict(err)
		}
		f.poke()
		f.log.Info("deploy "+string(action)+"d", "app", app, "deploy", id, "state", rec.State, "who", who)
		out = rec
		return nil
	})
	if errors.Is(err, store.ErrContention) {
		return nil, httperr.Conflict("deploy %s keeps changing; try again", id)
	}
	return out, err
}

// Get returns a deploy's record and its store version (404 if none).
func (f *Function) Get(ctx context.Context, app, id string) (*plan.Record, uint64, error) {
	if a, ok := appOf(id); !ok || a != app {
		return nil, 0, httperr.NotFound("deploy %q of app %q not found", id, app)
	}
	rec, ver, err := f.loadRecord(ctx, app, id)
	if errors.Is(err, errNoRecord) {
		return nil, 0, httperr.NotFound("deploy %q of app %q not found", id, app)
	}
	return rec, ver, err
}

// HistoryEntry is one deploy of an app's history.
type HistoryEntry struct {
	plan.Summary
	Who       string    `json:"who"`
	Why       string    `json:"why,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// History returns the app's latest deploys, newest first, at most limit.
func (f *Function) History(ctx context.Context, app string, limit int) ([]HistoryEntry, error) {
	ix, _, err := f.loadIndex(ctx, app)
	if err != nil {
		return nil, err
	}
	out := []HistoryEntry{}
	for _, id := range ix.IDs {
		if len(out) >= limit {
			break
		}
		rec, _, err := f.loadRecord(ctx, app, id)
		if errors.Is(err, errNoRecord) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, HistoryEntry{Summary: rec.Summary(), Who: rec.Who, Why: rec.Why, CreatedAt: rec.CreatedAt, EndedAt: rec.EndedAt})
	}
	return out, nil
}
