package alarms

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// MaxInhibitRules bounds a team's inhibition rules.
const MaxInhibitRules = 256

// inhibitDoc is team's inhibition rules as a versioned document.
func inhibitDoc(team string) versionedDoc {
	return teamDoc(wire.InhibitKey(team), "inhibition rules", team)
}

// getInhibit answers team's inhibition rules (version 0 and no rules
// when none were written).
func (f *Function) getInhibit(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	v, _, err := readDoc[wire.InhibitRules](f, r, inhibitDoc(team))
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
	args, err := versionedPutArgs(r)
	if err != nil {
		return err
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
	if rules == nil {
		rules = []silence.InhibitRuleConfig{}
	}
	next, _, err := replaceDoc(f, r, inhibitDoc(team), args, func(v wire.InhibitRules) int64 { return v.Version },
		func(cur wire.InhibitRules) wire.InhibitRules {
			return wire.InhibitRules{Version: cur.Version + 1, UpdatedBy: r.Principal.Name, UpdatedAt: f.opts.Now().UTC(), Comment: args.comment, Rules: rules}
		})
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, next)
}
