package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// target is one receiver a change goes to, with the route's grouping.
type target struct {
	receiver    string
	groupKey    string
	groupLabels map[string]string
	wait        time.Duration // before the first attempt
	combine     bool          // Falcon's combining (priority 3–6, no group_by)
	grouped     bool          // the group schedule (posted alerts, group_by)
	interval    time.Duration // the route's group_interval (grouped)
	repeat      time.Duration // the route's repeat_interval (grouped)
}

// dispatch turns changes of case c into claims and queue entries: one per
// (step, receiver) of the routes the case's labels match. The queue entry
// is written first and its key is derived from the change alone, so every
// node that dispatches the same change writes the same entry; then the
// claim is created with compare-and-swap expect 0 — one node wins, the
// others find it taken. Silences and inhibition are checked when the
// delivery comes due, not here.
func (n *Notifier) dispatch(ctx context.Context, c alarm.Case, changes []alarm.Change) error {
	if len(changes) == 0 {
		return nil
	}
	team := teamOf(c)
	targets, escs, err := n.targets(ctx, team, c)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		for _, t := range targets {
			if err := n.claim(ctx, team, c, ch, t); err != nil {
				return err
			}
		}
	}
	return n.escalate(ctx, team, c, escs)
}

// targets are the receivers of c's labels in team's route tree, once
// each (the first matching route's grouping wins), and the escalations of
// the matched routes, once per escalation receiver. Without a route tree
// every webhook and template receiver of the team gets every change, sent
// at once — a team that only wrote receivers is notified.
func (n *Notifier) targets(ctx context.Context, team string, c alarm.Case) ([]target, []escalation, error) {
	tree, err := n.routes.get(ctx, n.opts.Store, team)
	if err != nil {
		return nil, nil, err
	}
	var out []target
	var escs []escalation
	seen := map[string]bool{}
	if tree == nil {
		names, err := n.receiverNames(ctx, team)
		if err != nil {
			return nil, nil, err
		}
		for _, name := range names {
			out = append(out, target{receiver: name, groupKey: "{}:{}", groupLabels: map[string]string{}, combine: falconCombined(c, false), grouped: c.Source != alarm.SourceJudge})
		}
		return out, nil, nil
	}
	escSeen := map[string]bool{}
	for _, r := range tree.Match(c.Labels) {
		if e, ok := escalationOf(r, c); ok && !escSeen[e.receiver] {
			escSeen[e.receiver] = true
			escs = append(escs, e)
		}
		name := r.Opts.Receiver
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		t := target{receiver: name, groupKey: r.GroupKey(c.Labels), groupLabels: r.GroupLabels(c.Labels)}
		if c.Source != alarm.SourceJudge || r.Opts.GroupBySet {
			t.wait, t.grouped, t.interval, t.repeat = r.Opts.GroupWait, true, r.Opts.GroupInterval, r.Opts.RepeatInterval
		}
		t.combine = falconCombined(c, r.Opts.GroupBySet)
		out = append(out, t)
	}
	return out, escs, nil
}

// falconCombined reports whether a judge case's steps are combined
// (priority 3–6 on a route without group_by) rather than sent alone.
func falconCombined(c alarm.Case, groupBySet bool) bool {
	return c.Source == alarm.SourceJudge && !groupBySet && !notifyplan.Immediate(c.Priority)
}

// receiverNames lists the names of team's webhook and template receivers.
func (n *Notifier) receiverNames(ctx context.Context, team string) ([]string, error) {
	prefix := wire.ReceiverKey(team, "")
	var names []string
	for e, err := range store.Entries(ctx, n.opts.Store, prefix, store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list receivers of %s: %w", team, err)
		}
		var r receiver.Receiver
		name := strings.TrimPrefix(e.Key, prefix)
		if strings.Contains(name, "/") || json.Unmarshal(e.Value, &r) != nil || r.Kind == receiver.KindSSE {
			continue // the stream serves sse receivers
		}
		names = append(names, name)
	}
	return names, nil
}

// claim writes the queue entry and the claim of one (case, step, receiver).
// The queue entry's value is the claim as first written: a worker that
// finds an entry without its claim (the dispatcher died between the two
// writes) creates the claim from it, with the same compare-and-swap.
func (n *Notifier) claim(ctx context.Context, team string, c alarm.Case, ch alarm.Change, t target) error {
	key := receiver.IdempotencyKey(c.ID, ch.StepKey, t.receiver)
	due := ch.At.Add(t.wait)
	now := n.opts.Now()
	cl := wire.Claim{
		Case: c.ID, StepKey: ch.StepKey, Team: team, Receiver: t.receiver, State: wire.ClaimQueued,
		NextAt: due, GroupKey: t.groupKey, GroupLabels: t.groupLabels, Combine: t.combine, Grouped: t.grouped, GroupInterval: t.interval, RepeatInterval: t.repeat, CreatedAt: now, UpdatedAt: now,
	}
	if notifyplan.IsEscalation(ch.StepKey) && due.After(now) {
		cl.CreatedAt = due // its retry budget starts when it is due
	}
	b, err := json.Marshal(cl)
	if err != nil {
		return fmt.Errorf("cannot encode claim: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.Get(sctx, wire.ClaimKey(key)); err == nil {
		return nil // claimed before (by this node or another)
	}
	if _, err := n.opts.Store.Put(sctx, wire.QueueKey(team, t.receiver, due.UnixMilli(), key), b, store.PutOptions{}); err != nil {
		return fmt.Errorf("cannot queue delivery: %w", err)
	}
	switch _, err := n.opts.Store.CompareAndSwap(sctx, wire.ClaimKey(key), 0, b, store.PutOptions{}); {
	case errors.Is(err, store.ErrConflict):
		return nil // another node won
	case err != nil:
		return fmt.Errorf("cannot claim delivery: %w", err)
	}
	n.schedule(queueRef{team, t.receiver}, due)
	return nil
}

// routeCache keeps each team's compiled route tree by store version.
type routeCache struct {
	mu    sync.Mutex
	trees map[string]cachedTree
}

type cachedTree struct {
	version uint64
	tree    *amroute.Route
}

// get returns team's compiled tree, nil when the team has none (or it
// does not compile: logged by the writer's validation, treated as none).
func (rc *routeCache) get(ctx context.Context, st store.Store, team string) (*amroute.Route, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	e, err := st.Get(ctx, wire.RouteKey(team))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read routes of %s: %w", team, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if t, ok := rc.trees[team]; ok && t.version == e.Version {
		return t.tree, nil
	}
	var v amroute.Versioned
	var tree *amroute.Route
	if err := json.Unmarshal(e.Value, &v); err == nil {
		tree, _ = amroute.Compile(v.Config, nil)
	}
	if rc.trees == nil {
		rc.trees = map[string]cachedTree{}
	}
	rc.trees[team] = cachedTree{version: e.Version, tree: tree}
	return tree, nil
}
