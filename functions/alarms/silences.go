package alarms

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// Retention is how long an expired silence stays listed (Alertmanager's
// default data retention).
const Retention = 120 * time.Hour

// stored is a silence as kept under wire.SilenceKey: with its team (the
// value of its team="..." equality matcher, else wire.GlobalTeam).
type stored struct {
	silence.Silence
	Team string `json:"team"`
}

// GettableSilence is a silence as Alertmanager API v2 answers it (gettableSilence).
type GettableSilence struct {
	silence.Silence
	Status struct {
		State silence.State `json:"state"`
	} `json:"status"`
	// Annotations: Alertmanager 0.28+ requires the field; Wharf keeps none.
	Annotations map[string]string `json:"annotations"`
}

// PostableSilence is the body of POST /api/v2/silences (postableSilence; id set: update).
type PostableSilence struct {
	ID        string          `json:"id,omitempty"`
	Matchers  labels.Matchers `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"`
	EndsAt    time.Time       `json:"endsAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
	// Annotations (sent by Alertmanager 0.28+ clients) are accepted and
	// not kept.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// silenceTeam is the team of matchers: the value of its team="..."
// equality matcher, or "" when it has none.
func silenceTeam(ms labels.Matchers) string {
	for _, m := range ms {
		if m != nil && m.Name == "team" && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// newSilenceID returns a random UUID (version 4), as Alertmanager's ids.
func newSilenceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// gettable is s with its state at now.
func gettable(s silence.Silence, now time.Time) GettableSilence {
	g := GettableSilence{Silence: s, Annotations: map[string]string{}}
	g.Status.State = s.State(now)
	return g
}

// silences reads every silence p sees, for the filters of alerts.
func (f *Function) silences(r *fnapi.Request, now time.Time) ([]silence.Silence, error) {
	var out []silence.Silence
	for e, err := range store.Entries(r.Context(), f.opts.Store, wire.SilencePrefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot list silences")
		}
		var s stored
		if err := json.Unmarshal(e.Value, &s); err != nil {
			f.log.Warn("undecodable silence", "key", e.Key, "err", err)
			continue
		}
		if sees(r.Principal, s.Team) {
			out = append(out, s.Silence)
		}
	}
	return out, nil
}

// listSilences answers GET /api/v2/silences: the silences the caller
// sees, filter= matchers selecting those whose matchers all hold on the
// label set the filter names (Alertmanager's rule: a silence matches a
// filter when it has an equal matcher for every filter matcher).
func (f *Function) listSilences(r *fnapi.Request) error {
	filter, err := parseFilters(r, "filter")
	if err != nil {
		return err
	}
	now := f.opts.Now()
	all, err := f.silences(r, now)
	if err != nil {
		return err
	}
	out := []GettableSilence{}
	for _, s := range all {
		if filterMatches(filter, s.Matchers) {
			out = append(out, gettable(s, now))
		}
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// filterMatches is Alertmanager's silence filter: every filter matcher
// has a matcher of the silence with the same name, type and value.
func filterMatches(filter, ms labels.Matchers) bool {
	for _, fm := range filter {
		found := false
		for _, m := range ms {
			if m != nil && m.Name == fm.Name && m.Type == fm.Type && m.Value == fm.Value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// readSilence reads silence id as p may see it (404 for another team's).
func (f *Function) readSilence(r *fnapi.Request, id string) (stored, store.Entry, error) {
	var s stored
	if !store.ValidKey(wire.SilenceKey(id)) {
		return s, store.Entry{}, httperr.NotFound("silence %q not found", id)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, wire.SilenceKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return s, e, httperr.NotFound("silence %q not found", id)
	}
	if err != nil {
		return s, e, httperr.Unavailable(err, "cannot read silence %q", id)
	}
	if err := json.Unmarshal(e.Value, &s); err != nil {
		return s, e, fmt.Errorf("cannot decode silence %q: %w", id, err)
	}
	if !sees(r.Principal, s.Team) {
		return s, e, httperr.NotFound("silence %q not found", id)
	}
	return s, e, nil
}

// getSilence answers GET /api/v2/silence/{id}.
func (f *Function) getSilence(r *fnapi.Request) error {
	s, _, err := f.readSilence(r, r.Params.Get("id"))
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, gettable(s.Silence, f.opts.Now()))
}

// postSilence creates a silence, or with an id updates that one, as
// Alertmanager's POST /api/v2/silences; it answers {"silenceID": id}.
// A team token's silence must carry team="<one of its teams>" (added
// when the token has one team and the silence names none), so that it
// cannot mute another team's alarms; an admin's silence without one is
// global. createdBy defaults to the token's name.
func (f *Function) postSilence(r *fnapi.Request) error {
	var in PostableSilence
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	p := r.Principal
	now := f.opts.Now().UTC()
	if in.CreatedBy == "" {
		in.CreatedBy = p.Name
	}
	if in.StartsAt.IsZero() || in.StartsAt.Before(now) {
		in.StartsAt = now // as Alertmanager: a silence never starts in the past
	}
	team := silenceTeam(in.Matchers)
	if team == "" && !p.IsAdmin() {
		teams := p.Teams()
		if len(teams) != 1 {
			return badFields(r, "invalid silence", fielderr.List{{Field: "matchers", Msg: fmt.Sprintf("must hold team=\"<team>\" with one of the token's teams %v", teams)}})
		}
		m, err := labels.NewMatcher(labels.MatchEqual, "team", teams[0])
		if err != nil {
			return fmt.Errorf("cannot build the team matcher: %w", err)
		}
		in.Matchers = append(in.Matchers, m)
		team = teams[0]
	}
	if team == "" {
		team = wire.GlobalTeam
	}
	if !sees(p, team) {
		return httperr.Forbidden("token %q may not silence team %q", p.Name, team)
	}
	s := silence.Silence{ID: in.ID, Matchers: in.Matchers, StartsAt: in.StartsAt, EndsAt: in.EndsAt,
		CreatedBy: in.CreatedBy, Comment: in.Comment, UpdatedAt: now}
	if s.ID == "" {
		s.ID = newSilenceID()
	}
	if l := s.Validate(); len(l) > 0 {
		return badFields(r, "invalid silence", l)
	}
	if in.EndsAt.Before(now) || !in.EndsAt.After(now) {
		return badFields(r, "invalid silence", fielderr.List{{Field: "endsAt", Msg: "must be in the future"}})
	}
	expect := uint64(0)
	if in.ID != "" {
		old, e, err := f.readSilence(r, in.ID)
		if err != nil {
			return err
		}
		if old.State(now) == silence.Expired {
			return badFields(r, "invalid silence", fielderr.List{{Field: "id", Msg: "silence is expired; create a new one"}})
		}
		if old.State(now) == silence.Active && !old.StartsAt.After(now) {
			s.StartsAt = old.StartsAt
		}
		expect = e.Version
	}
	b, err := json.Marshal(stored{Silence: s, Team: team})
	if err != nil {
		return fmt.Errorf("cannot encode silence: %w", err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	ttl := s.EndsAt.Add(Retention).Sub(now)
	if _, err := f.opts.Store.CompareAndSwap(ctx, wire.SilenceKey(s.ID), expect, b, store.PutOptions{TTL: ttl}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("silence %q changed meanwhile; read it and retry", s.ID)
		}
		return httperr.Unavailable(err, "cannot store silence")
	}
	return r.JSON(fasthttp.StatusOK, map[string]string{"silenceID": s.ID})
}

// deleteSilence expires a silence (silence.Expire); an expired one is
// left as it is. The silence stays listed until its retention ends.
func (f *Function) deleteSilence(r *fnapi.Request) error {
	id := r.Params.Get("id")
	now := f.opts.Now().UTC()
	s, e, err := f.readSilence(r, id)
	if err != nil {
		return err
	}
	next, changed := silence.Expire(s.Silence, now)
	if !changed {
		return r.JSON(fasthttp.StatusOK, struct{}{})
	}
	next.UpdatedAt = now
	b, err := json.Marshal(stored{Silence: next, Team: s.Team})
	if err != nil {
		return fmt.Errorf("cannot encode silence: %w", err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.CompareAndSwap(ctx, wire.SilenceKey(id), e.Version, b, store.PutOptions{TTL: Retention}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("silence %q changed meanwhile; retry", id)
		}
		return httperr.Unavailable(err, "cannot expire silence %q", id)
	}
	return r.JSON(fasthttp.StatusOK, struct{}{})
}
