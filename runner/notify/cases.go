package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
)

// storeTimeout bounds every single store call of the runner.
const storeTimeout = 5 * time.Second

// handleEvent applies one judge event to its case and dispatches the
// change. A redelivered message (Attempts > 1) dispatches the case's
// current step again when the event is that step: the first delivery may
// have updated the case and died before its claims were written, and
// claims are idempotent.
func (n *Notifier) handleEvent(ctx context.Context, m *bus.Message) error {
	n.stats.events[topicAlarms].Inc()
	ev, err := event.Unmarshal(m.Body)
	if err != nil {
		if isNewerVersion(m.Body) {
			// An upgraded producer: requeue, never drop, so that an
			// upgraded consumer gets it.
			return fmt.Errorf("cannot take event: %w: %w", err, bus.ErrRetryLater)
		}
		n.log.Warn("alarm event dropped to the dead letters", "err", err)
		return fmt.Errorf("cannot decode event: %w", err)
	}
	if err := n.applyOwedBefore(ctx, ev); err != nil { // owed.go
		return err
	}
	c, changes, err := n.updateCase(ctx, ev.ID, func(c alarm.Case) (alarm.Case, []alarm.Change) { return alarm.Apply(c, ev) })
	if err != nil {
		return err
	}
	// A judge event stays owed until its step is recorded (owed.go): an
	// owed event seen again may come from the reconciler after the first
	// delivery died half-way (nsqd's redelivery would say Attempts > 1).
	owed := wire.OwedKey(ev.ID, alarm.StepKey(ev))
	if len(changes) == 0 && c.StepKey == alarm.StepKey(ev) && (m.Attempts > 1 || n.owed(ctx, owed)) {
		changes = []alarm.Change{currentChange(c)}
	}
	if err := n.dispatch(ctx, c, changes); err != nil {
		return err
	}
	n.settleOwed(ctx, owed)
	return nil
}

// handlePosted applies the alerts of one POST /api/v2/alerts request.
func (n *Notifier) handlePosted(ctx context.Context, m *bus.Message) error {
	n.stats.events[wire.PostedTopic].Inc()
	var p wire.Posted
	if err := json.Unmarshal(m.Body, &p); err != nil {
		return fmt.Errorf("cannot decode posted alerts: %w", err)
	}
	if p.Version > wire.PostedVersion {
		return fmt.Errorf("cannot take posted alerts of version %d: %w", p.Version, bus.ErrRetryLater)
	}
	for i, a := range p.Alerts {
		if errs := a.Validate(); len(errs) > 0 {
			n.log.Warn("posted alert skipped", "index", i, "err", errs.Err())
			continue
		}
		if p.Team != "" { // a team token's alerts are its team's, whatever they say
			a.Labels = a.Labels.Clone()
			a.Labels[alarm.LabelTeam] = p.Team
		}
		id := alarm.PostedCaseID(a.Labels)
		c, changes, err := n.updateCase(ctx, id, func(c alarm.Case) (alarm.Case, []alarm.Change) {
			return alarm.ApplyPosted(c, a, p.ReceivedAt, 0)
		})
		if err != nil {
			return err
		}
		if len(changes) == 0 && m.Attempts > 1 && c.StepKey != "" {
			changes = []alarm.Change{currentChange(c)}
		}
		if err := n.dispatch(ctx, c, changes); err != nil {
			return err
		}
	}
	return nil
}

// updateCase is the read-modify-write of one case under compare-and-swap;
// apply may run several times. The team index is written after the case.
func (n *Notifier) updateCase(ctx context.Context, id string, apply func(alarm.Case) (alarm.Case, []alarm.Change)) (alarm.Case, []alarm.Change, error) {
	var out alarm.Case
	var changes []alarm.Change
	_, err := store.Update(ctx, n.opts.Store, wire.CaseKey(id), store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		var c alarm.Case
		if ok {
			if err := json.Unmarshal(cur.Value, &c); err != nil {
				return nil, store.PutOptions{}, fmt.Errorf("cannot read case %s: %w", id, err)
			}
		}
		next, ch := apply(c)
		out, changes = next, ch
		if len(ch) == 0 && (next.ID == "" || caseEqual(c, next)) {
			return nil, store.PutOptions{}, store.ErrSkip
		}
		b, err := json.Marshal(next)
		return b, store.PutOptions{}, err
	})
	if err != nil {
		return alarm.Case{}, nil, fmt.Errorf("cannot update case %s: %w", id, err)
	}
	if out.ID != "" {
		if err := n.putIndex(ctx, out); err != nil {
			return alarm.Case{}, nil, err
		}
	}
	return out, changes, nil
}

// caseEqual reports whether a transition left the case as it was (only
// then the write is skipped; a refresh of a posted alert is written).
func caseEqual(a, b alarm.Case) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (n *Notifier) putIndex(ctx context.Context, c alarm.Case) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := n.opts.Store.Put(ctx, wire.TeamCaseKey(teamOf(c), c.ID), []byte{}, store.PutOptions{}); err != nil {
		return fmt.Errorf("cannot index case %s: %w", c.ID, err)
	}
	return nil
}

// teamOf is the team whose routes and receivers a case goes to: its team
// label, or wire.GlobalTeam for a posted alert without one.
func teamOf(c alarm.Case) string {
	if t := c.Labels[alarm.LabelTeam]; t != "" && !strings.ContainsAny(t, "/\x00") {
		return t
	}
	return wire.GlobalTeam
}

// currentChange is the change of the case's latest transition.
func currentChange(c alarm.Case) alarm.Change {
	return alarm.Change{State: c.State, StepKey: c.StepKey, At: c.UpdatedAt, Status: c.Status(), Step: c.Step}
}

// isNewerVersion reports whether body is an event of a schema version
// above the one this node reads.
func isNewerVersion(body []byte) bool {
	var v struct {
		Version int `json:"version"`
	}
	return json.Unmarshal(body, &v) == nil && v.Version > event.Version
}

// expireLoop resolves posted alerts whose endsAt passed without a new
// post, every ExpireInterval. Any node may do it: the case CAS lets one
// win, and recently resolved ones are dispatched again (claims are
// idempotent) so a node that died between the two loses nothing.
func (n *Notifier) expireLoop(ctx context.Context) {
	t := time.NewTicker(n.opts.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := n.expireOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("expiry of posted alerts failed", "err", err)
		}
	}
}

func (n *Notifier) expireOnce(ctx context.Context) error {
	now := n.opts.Now()
	for e, err := range store.Entries(ctx, n.opts.Store, wire.CasePrefix+"am_", store.ScanOptions{PageTimeout: storeTimeout}) {
		if err != nil {
			return fmt.Errorf("cannot list posted cases: %w", err)
		}
		var c alarm.Case
		if err := json.Unmarshal(e.Value, &c); err != nil {
			continue
		}
		switch {
		case c.State.Firing() && !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
			c2, changes, err := n.updateCase(ctx, c.ID, func(c alarm.Case) (alarm.Case, []alarm.Change) { return alarm.Expire(c, now) })
			if err != nil {
				return err
			}
			if err := n.dispatch(ctx, c2, changes); err != nil {
				return err
			}
		case c.State == alarm.Resolved && now.Sub(c.EndsAt) < 4*n.opts.ExpireInterval:
			if err := n.dispatch(ctx, c, []alarm.Change{currentChange(c)}); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		}
	}
	return nil
}
