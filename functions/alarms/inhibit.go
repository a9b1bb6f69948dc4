package alarms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// MaxInhibitRules bounds a team's inhibition rules.
const MaxInhibitRules = 256

// readInhibit reads team's inhibition rules and their store version (0
// when none are stored).
func (f *Function) readInhibit(r *fnapi.Request, team string) (wire.InhibitRules, uint64, error) {
	var v wire.InhibitRules
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, wire.InhibitKey(team))
	if errors.Is(err, store.ErrNotFound) {
		return v, 0, nil
	}
	if err != nil {
		return v, 0, httperr.Unavailable(err, "cannot read the inhibition rules of %q", team)
	}
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return v, 0, fmt.Errorf("cannot decode the inhibition rules of %q: %w", team, err)
	}
	return v, e.Version, nil
}

// getInhibit answers team's inhibition rules (version 0 and no rules
// when none were written).
func (f *Function) getInhibit(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	v, _, err := f.readInhibit(r, team)
	if err != nil {
		return err
	}
	if v.Rules == nil {
		v.Rules = []silence.InhibitRuleConfig{}
	}
	return r.JSON(fasthttp.StatusOK, v)
}

// putInhibit replaces team's inhibition rules with the body: a YAML or
// JSON list of Alertmanager inhibit_rules entries (source_matchers,
// target_matchers, equal), each validated (400 naming
// "[i].source_matchers[0]"). version= makes it a compare-and-swap on the
// version read before (409 otherwise); comment= is kept.
func (f *Function) putInhibit(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	q := r.Ctx.QueryArgs()
	want := int64(-1)
	if v := q.Peek("version"); len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return httperr.BadRequest("version must be the version read before (0: none yet), got %q", v)
		}
		want = n
	}
	comment := string(q.Peek("comment"))
	if len(comment) > 1024 {
		return httperr.BadRequest("comment must be at most 1024 bytes")
	}
	var rules []silence.InhibitRuleConfig
	dec := yaml.NewDecoder(bytes.NewReader(r.Ctx.PostBody()))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		return badFields(r, "invalid inhibition rules", fielderr.List{{Field: "", Msg: "want a list of rules (source_matchers, target_matchers, equal): " + err.Error()}})
	}
	var problems fielderr.List
	if len(rules) > MaxInhibitRules {
		problems.Add("", fmt.Sprintf("at most %d rules", MaxInhibitRules))
	}
	for i, c := range rules {
		if _, err := silence.CompileInhibitRule(c); err != nil {
			var l fielderr.List
			if errors.As(err, &l) {
				problems.Merge("["+strconv.Itoa(i)+"]", l)
			} else {
				problems.Add("["+strconv.Itoa(i)+"]", err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return badFields(r, "invalid inhibition rules", problems)
	}
	cur, expect, err := f.readInhibit(r, team)
	if err != nil {
		return err
	}
	if want >= 0 && want != cur.Version {
		return httperr.Conflict("the inhibition rules of %q are at version %d, not %d; read them again", team, cur.Version, want)
	}
	if rules == nil {
		rules = []silence.InhibitRuleConfig{}
	}
	next := wire.InhibitRules{Version: cur.Version + 1, UpdatedBy: r.Principal.Name, UpdatedAt: f.opts.Now().UTC(), Comment: comment, Rules: rules}
	b, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("cannot encode inhibition rules: %w", err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.CompareAndSwap(ctx, wire.InhibitKey(team), expect, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("the inhibition rules of %q changed meanwhile; read them again", team)
		}
		return httperr.Unavailable(err, "cannot store the inhibition rules of %q", team)
	}
	return r.JSON(fasthttp.StatusOK, next)
}
