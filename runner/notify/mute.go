package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/labels"
	"github.com/wharfhq/wharf/monitoring/silence"
)

// storedSilence is a silence as the handlers store it: the API's silence
// and the team it belongs to (empty or wire.GlobalTeam: an admin's,
// which applies to every team).
type storedSilence struct {
	silence.Silence
	Team string `json:"team"`
}

// inhibitRules is the value of wire.InhibitKey.
type inhibitRules struct {
	Rules []silence.InhibitRuleConfig `json:"rules"`
}

// muted says whether c is silenced or inhibited at now for team:
// ("silenced", silence ids) or ("inhibited", the source case), or ("", "").
func (n *Notifier) muted(ctx context.Context, team string, c alarm.Case, now time.Time) (state, note string, err error) {
	var active []silence.Silence
	for e, err := range store.Entries(ctx, n.opts.Store, wire.SilencePrefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return "", "", fmt.Errorf("cannot list silences: %w", err)
		}
		var s storedSilence
		if json.Unmarshal(e.Value, &s) != nil {
			continue
		}
		if s.Team == "" || s.Team == wire.GlobalTeam || s.Team == team {
			active = append(active, s.Silence)
		}
	}
	if ids := silence.Silenced(active, c.Labels, now); len(ids) > 0 {
		return wire.ClaimSilenced, strings.Join(ids, ","), nil
	}
	if !c.State.Firing() {
		return "", "", nil // a resolution is never inhibited
	}
	return n.inhibited(ctx, team, c)
}

// inhibited applies team's inhibition rules with the team's firing cases
// as sources.
func (n *Notifier) inhibited(ctx context.Context, team string, c alarm.Case) (string, string, error) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	e, err := n.opts.Store.Get(sctx, wire.InhibitKey(team))
	cancel()
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("cannot read inhibition rules: %w", err)
	}
	var cfg inhibitRules
	if json.Unmarshal(e.Value, &cfg) != nil || len(cfg.Rules) == 0 {
		return "", "", nil
	}
	var rules []*silence.InhibitRule
	for _, rc := range cfg.Rules {
		if r, err := silence.CompileInhibitRule(rc); err == nil {
			rules = append(rules, r)
		}
	}
	var firing []labels.Set
	var ids []string
	prefix := wire.TeamCaseKey(team, "")
	for e, err := range store.Entries(ctx, n.opts.Store, prefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return "", "", fmt.Errorf("cannot list cases of %s: %w", team, err)
		}
		id := strings.TrimPrefix(e.Key, prefix)
		if id == c.ID {
			continue
		}
		src, err := n.loadCase(ctx, id)
		if err != nil || !src.State.Firing() {
			continue
		}
		firing = append(firing, src.Labels)
		ids = append(ids, id)
	}
	if r, i := silence.Inhibited(rules, firing, c.Labels); r != nil && i >= 0 {
		return wire.ClaimInhibited, "by case " + ids[i], nil
	}
	return "", "", nil
}
