package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/store"
)

// HandleEvent applies one agent event (the body of a deploy.events
// message) to its deploy's record: decode, load, plan.Apply, write with
// compare-and-swap (retried on conflict), then wake the driver, which
// steps the deploy at once where this instance holds its lease (the
// write wakes the holder elsewhere through its store watch).
//
// Every event must come from its host's agent (authenticate): one that
// is unsigned, forged, tampered with, signed by another host's key or of
// a host bound to no agent token is refused — logged at WARN, counted in
// wharf_deploy_events_refused_total{reason} and finished (nil), never
// applied.
//
// Events are idempotent and may come in any order, so a replayed real
// event changes nothing. An event that cannot be decoded, of an unknown
// deploy, or that does not fit its deploy is logged and dropped (nil:
// redelivering it would not help); a store failure is returned, so that
// NSQ delivers the event again.
func (f *Function) HandleEvent(ctx context.Context, body []byte) error {
	signed, err := wire.ParseSignedEvent(body)
	if err != nil {
		f.m.dropped.Inc()
		f.log.Warn("dropping an undecodable deploy event", "err", err, "body", clipBody(body))
		return nil
	}
	ev := signed.Event
	log := f.log.With("deploy", ev.DeployID, "host", ev.Host, "task", ev.TaskID, "state", ev.State)
	ref, unverified, err := f.authenticate(ctx, &signed)
	switch {
	case err != nil:
		return err
	case ref != nil:
		f.m.ev.refused[ref.reason].Inc()
		log.Warn("refusing a deploy event", "reason", ref.reason, "why", ref.why)
		return nil
	case unverified:
		f.m.ev.unverified.Inc()
		log.Warn("applying an unverified deploy event: the host was bound without an event-signing key (an agent of the previous release)")
	}
	app, ok := appOf(ev.DeployID)
	if !ok {
		f.m.dropped.Inc()
		log.Warn("dropping an event of a deploy id this function does not make")
		return nil
	}
	// Events of one deploy arrive together: Retry's jittered backoff
	// spreads the writers that collide.
	err = store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		e, found, err := f.get(ctx, RecordKey(app, ev.DeployID))
		if err != nil {
			return err
		}
		if !found {
			f.m.dropped.Inc()
			log.Warn("dropping an event of an unknown deploy")
			return nil
		}
		out, changed, err := applyEvent(e.Value, ev, f.opts.Now())
		if err != nil {
			f.m.dropped.Inc()
			log.Warn("dropping an event that does not fit its deploy", "err", err)
			return nil
		}
		if !changed {
			f.m.ignored.Inc()
			log.Debug("event changes nothing (repeated or late)")
			return nil
		}
		if _, err := f.cas(ctx, e.Key, e.Version, out, 0); err != nil {
			return store.AsConflict(err)
		}
		f.m.applied.Inc()
		log.Debug("event applied")
		f.poke()
		return nil
	})
	if errors.Is(err, store.ErrContention) {
		return fmt.Errorf("cannot apply an event to deploy %s: %w", ev.DeployID, err)
	}
	return err
}

// applyEvent is the pure part of HandleEvent: it loads the stored record,
// applies ev at now and returns the record to store when it changed.
func applyEvent(stored []byte, ev wire.Event, now time.Time) (out []byte, changed bool, err error) {
	rec, err := plan.ParseRecord(stored)
	if err != nil {
		return nil, false, err
	}
	if changed, err = rec.Apply(ev, now); err != nil || !changed {
		return nil, false, err
	}
	if out, err = json.Marshal(rec); err != nil {
		return nil, false, fmt.Errorf("cannot encode deploy %s: %w", rec.ID, err)
	}
	return out, true, nil
}

// clipBody is the start of a message body, for logs.
func clipBody(b []byte) string {
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}
