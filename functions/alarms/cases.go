package alarms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// Paging of GET /api/v1/alarms.
const (
	DefaultCaseLimit = 100
	MaxCaseLimit     = 1000
)

// CaseList is the answer of GET /api/v1/alarms: cases without their
// history, by id; Next is the after= of the next page ("" on the last).
type CaseList struct {
	Alarms []alarm.Case `json:"alarms"`
	Next   string       `json:"next,omitempty"`
}

// contextWithTimeout is r's context bounded by d.
func contextWithTimeout(r *fnapi.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// caseIDs returns the ids of the cases p sees (of team only, when not
// ""), in id order.
func (f *Function) caseIDs(r *fnapi.Request, team string) ([]string, error) {
	p := r.Principal
	var teams []string
	switch {
	case team != "":
		if !sees(p, team) {
			return nil, nil
		}
		teams = []string{team}
	case p.IsAdmin():
		return f.scanIDs(r, wire.CasePrefix)
	default:
		teams = p.Teams()
	}
	var ids []string
	for _, t := range teams {
		got, err := f.scanIDs(r, wire.TeamCasePrefix+t+"/")
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// scanIDs lists the key suffixes under prefix.
func (f *Function) scanIDs(r *fnapi.Request, prefix string) ([]string, error) {
	var ids []string
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot list alarms")
		}
		ids = append(ids, strings.TrimPrefix(e.Key, prefix))
	}
	return ids, nil
}

// readCase reads case id; found is false when it does not exist.
func (f *Function) readCase(r *fnapi.Request, id string) (c alarm.Case, e store.Entry, found bool, err error) {
	if !store.ValidKey(wire.CaseKey(id)) {
		return c, e, false, nil
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err = f.opts.Store.Get(ctx, wire.CaseKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return c, e, false, nil
	}
	if err != nil {
		return c, e, false, httperr.Unavailable(err, "cannot read alarm %q", id)
	}
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return c, e, false, fmt.Errorf("cannot decode alarm %q: %w", id, err)
	}
	return c, e, true, nil
}

// eachCase calls fn with every case p sees until it returns false.
func (f *Function) eachCase(r *fnapi.Request, fn func(alarm.Case) bool) error {
	ids, err := f.caseIDs(r, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, _, ok, err := f.readCase(r, id)
		if err != nil {
			return err
		}
		if ok && sees(r.Principal, teamOf(c.Labels)) && !fn(c) {
			return nil
		}
	}
	return nil
}

// listCases answers GET /api/v1/alarms: team=, state= (opened, stepped,
// resolved, nodata, or firing), match= matchers, after= and limit=.
func (f *Function) listCases(r *fnapi.Request) error {
	q := r.Ctx.QueryArgs()
	team, state, after := string(q.Peek("team")), string(q.Peek("state")), string(q.Peek("after"))
	if team != "" && !auth.ValidName(team) && team != wire.GlobalTeam {
		return httperr.BadRequest("team %q is not a valid team name", team)
	}
	switch alarm.State(state) {
	case "", "firing", alarm.Opened, alarm.Stepped, alarm.Resolved, alarm.NoData:
	default:
		return httperr.BadRequest("state must be opened, stepped, resolved, nodata or firing, got %q", state)
	}
	limit := DefaultCaseLimit
	if v := q.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > MaxCaseLimit {
			return httperr.BadRequest("limit must be 1..%d, got %q", MaxCaseLimit, v)
		}
		limit = n
	}
	match, err := parseFilters(r, "match")
	if err != nil {
		return err
	}
	ids, err := f.caseIDs(r, team)
	if err != nil {
		return err
	}
	out := CaseList{Alarms: []alarm.Case{}}
	for _, id := range ids {
		if id <= after {
			continue
		}
		c, _, ok, err := f.readCase(r, id)
		if err != nil {
			return err
		}
		if !ok || !sees(r.Principal, teamOf(c.Labels)) || !match.Matches(c.Labels) {
			continue
		}
		if state == "firing" && c.Status() != "firing" || state != "" && state != "firing" && string(c.State) != state {
			continue
		}
		if len(out.Alarms) == limit {
			out.Next = out.Alarms[len(out.Alarms)-1].ID
			break
		}
		c.History, c.Seen = nil, nil
		out.Alarms = append(out.Alarms, c)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// getCase answers one case with its history; another team's is a 404.
func (f *Function) getCase(r *fnapi.Request) error {
	id := r.Params.Get("id")
	c, _, ok, err := f.readCase(r, id)
	if err != nil {
		return err
	}
	if !ok || !sees(r.Principal, teamOf(c.Labels)) {
		return httperr.NotFound("alarm %q not found", id)
	}
	return r.JSON(fasthttp.StatusOK, c)
}

// ackCase acknowledges a firing case (alarm.Ack, recorded in its
// history); 409 when it is resolved or already acknowledged.
func (f *Function) ackCase(r *fnapi.Request) error {
	id := r.Params.Get("id")
	if !store.ValidKey(wire.CaseKey(id)) {
		return httperr.NotFound("alarm %q not found", id)
	}
	var acked alarm.Case
	notFound, refused := false, false
	ctx, cancel := contextWithTimeout(r, 2*f.opts.StoreTimeout)
	defer cancel()
	_, err := store.Update(ctx, f.opts.Store, wire.CaseKey(id), store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		notFound, refused = false, false
		var c alarm.Case
		if ok {
			if err := json.Unmarshal(cur.Value, &c); err != nil {
				return nil, store.PutOptions{}, fmt.Errorf("cannot decode alarm %q: %w", id, err)
			}
		}
		if !ok || !sees(r.Principal, teamOf(c.Labels)) {
			notFound = true
			return nil, store.PutOptions{}, store.ErrSkip
		}
		next, changed := alarm.Ack(c, r.Principal.Name, f.opts.Now().UTC())
		if !changed {
			refused, acked = true, c
			return nil, store.PutOptions{}, store.ErrSkip
		}
		acked = next
		b, err := json.Marshal(next)
		return b, store.PutOptions{}, err
	})
	switch {
	case err != nil:
		return httperr.Unavailable(err, "cannot acknowledge alarm %q", id)
	case notFound:
		return httperr.NotFound("alarm %q not found", id)
	case refused && acked.AckedBy != "":
		return httperr.Conflict("alarm %q is already acknowledged by %s", id, acked.AckedBy)
	case refused:
		return httperr.Conflict("alarm %q is resolved: nothing to acknowledge", id)
	}
	return r.JSON(fasthttp.StatusOK, acked)
}
