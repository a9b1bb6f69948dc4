package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/deploy/logring"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// logsPrefix starts the store keys of the app log rings:
// deploy/logs/<app> holds a logring.Ring, TTL logring.TTL.
const logsPrefix = "deploy/logs/"

// LogsKey is the store key of an app's log ring.
func LogsKey(app string) string { return logsPrefix + app }

// LogsResponse is the answer of GET /api/v1/apps/{app}/logs.
type LogsResponse struct {
	App string `json:"app"`
	logring.Result
	// Dropped and Lost are the ring's counters: lines evicted to keep its
	// bounds, lines the agents could not ship.
	Dropped uint64 `json:"dropped"`
	Lost    uint64 `json:"lost"`
}

// shipLogs stores an agent's batch of its app instances' output: POST
// /api/v1/agents/hosts/{id}/logs (agent scope). The host must be bound to
// the caller's agent token, and every app of the batch deployed to it
// (tenancy placements); otherwise nothing of the batch is stored.
func (f *Function) shipLogs(r *fnapi.Request) error {
	host := r.Params.Get("id")
	if msg := checkHostID(host); msg != "" {
		return httperr.BadRequest("id: %s", msg)
	}
	if !r.Principal.IsAdmin() {
		b, _, ok, err := f.hosts.Host(r.Context(), host)
		switch {
		case err != nil:
			return unavailable(err, "cannot read the binding of host %q: store unavailable", host)
		case !ok || b.TokenID != r.Principal.TokenID:
			return httperr.Forbidden("host %q is not bound to this agent token: send a heartbeat first", host)
		}
	}
	body := r.Ctx.PostBody()
	for key, most := range map[string]int{"lines": wire.MaxLogBatch, "lost": maxLostApps} {
		if n := countMembers(body, key, most); n > most {
			return httperr.BadRequest("%s: at most %d a batch, got more", key, most)
		}
	}
	var batch wire.LogBatch
	if err := decodeLenient(body, &batch); err != nil {
		return err
	}
	if len(batch.Lines) > wire.MaxLogBatch {
		return httperr.BadRequest("lines: at most %d lines a batch, got %d", wire.MaxLogBatch, len(batch.Lines))
	}
	byApp := map[string][]wire.LogLine{}
	for i, l := range batch.Lines {
		// An over-long or invalid line is cut and repaired, not a reason to
		// refuse every other line of the batch (other apps' included).
		l.Text = wire.Clip(strings.ToValidUTF8(l.Text, "\uFFFD"), wire.MaxLogLineBytes)
		if !validApp(l.App) {
			return httperr.BadRequest("lines[%d].app: invalid app name %q", i, l.App)
		}
		if field, msg := logring.Check(l.LogLine); field != "" {
			return httperr.BadRequest("lines[%d].%s: %s", i, field, msg)
		}
		l.LogLine.Host, l.LogLine.Seq = host, 0
		byApp[l.App] = append(byApp[l.App], l.LogLine)
	}
	for app := range batch.Lost {
		if !validApp(app) {
			return httperr.BadRequest("lost: invalid app name %q", app)
		}
		if _, ok := byApp[app]; !ok {
			byApp[app] = nil
		}
	}
	apps := slices.Sorted(maps.Keys(byApp))
	for _, app := range apps {
		placed, err := f.hosts.Placed(r.Context(), app, host)
		if err != nil {
			return unavailable(err, "cannot read where app %q is deployed: store unavailable", app)
		}
		if !placed {
			return httperr.Forbidden("app %q was never deployed to host %q: its agent may not ship its logs", app, host)
		}
	}
	for _, app := range apps {
		if err := f.appendLogs(r.Context(), app, byApp[app], batch.Lost[app]); err != nil {
			return err
		}
	}
	f.m.logLines.Add(len(batch.Lines))
	return r.JSON(fasthttp.StatusOK, map[string]int{"stored": len(batch.Lines)})
}

// appendLogs appends lines to app's ring with compare-and-swap.
func (f *Function) appendLogs(ctx context.Context, app string, lines []wire.LogLine, lost uint64) error {
	key := LogsKey(app)
	for range maxCASRetries {
		var ring logring.Ring
		cctx, cancel := f.storeCtx(ctx)
		e, err := f.st.Get(cctx, key)
		cancel()
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return unavailable(err, "cannot read the logs of %q: store unavailable", app)
		default:
			if err := json.Unmarshal(e.Value, &ring); err != nil {
				f.log.Warn("app log ring unreadable; starting it over", "app", app, "err", err)
				ring = logring.Ring{}
			}
		}
		ring.Append(lines, lost)
		b, err := json.Marshal(ring)
		if err != nil {
			return fmt.Errorf("cannot encode the logs of %q: %w", app, err)
		}
		if _, err := f.cas(ctx, key, e.Version, b, logring.TTL); err == nil {
			return nil
		} else if !isConflict(err) {
			return err
		}
	}
	return httperr.Conflict("app %q: too many concurrent log writes; try again", app)
}

// readLogs answers an app's log lines: GET /api/v1/apps/{app}/logs
// ?host=&instance=&process=&since=&after=&limit=. Without after, the
// latest limit lines; with after (a cursor, 0 for the start), the oldest
// limit lines after it. Admin and the owning
// team only: agent and ingest tokens get 403, another team's app 404.
func (f *Function) readLogs(r *fnapi.Request) error {
	app, err := f.appAccess(r, true)
	if err != nil {
		return err
	}
	q, err := f.logsQuery(r.Ctx.QueryArgs())
	if err != nil {
		return err
	}
	var ring logring.Ring
	cctx, cancel := f.storeCtx(r.Context())
	e, err := f.st.Get(cctx, LogsKey(app))
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return unavailable(err, "cannot read the logs of %q: store unavailable", app)
	default:
		if err := json.Unmarshal(e.Value, &ring); err != nil {
			return fmt.Errorf("cannot read the logs of %q: %w", app, err)
		}
	}
	return r.JSON(fasthttp.StatusOK, LogsResponse{App: app, Result: ring.Select(q), Dropped: ring.Dropped, Lost: ring.Lost})
}

// logsQuery parses the query of readLogs; errors are 400s naming the
// parameter.
func (f *Function) logsQuery(args *fasthttp.Args) (logring.Query, error) {
	var q logring.Query
	get := func(k string) string { return string(args.Peek(k)) }
	if h := get("host"); h != "" {
		if msg := checkHostID(h); msg != "" {
			return q, httperr.BadRequest("host: %s", msg)
		}
		q.Host = h
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"instance", &q.Instance}, {"process", &q.Process}} {
		if v := get(p.name); v != "" {
			if len(v) > 256 || strings.ContainsAny(v, "/ \t\n") {
				return q, httperr.BadRequest("%s: invalid %s %q", p.name, p.name, v)
			}
			*p.dst = v
		}
	}
	if s := get("since"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			q.Since = f.opts.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			q.Since = t
		} else {
			return q, httperr.BadRequest("since: want a positive duration (10m) or an RFC 3339 time, got %q", s)
		}
	}
	if s := get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, httperr.BadRequest("after: want the cursor of the previous answer (a whole number), got %q", s)
		}
		q.After, q.Follow = n, true
	}
	q.Limit = logring.DefaultLimit
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > logring.MaxLimit {
			return q, httperr.BadRequest("limit: want a whole number from 1 to %d, got %q", logring.MaxLimit, s)
		}
		q.Limit = n
	}
	return q, nil
}
