package deploy

import (
	"context"
	"fmt"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// Why an event is refused: the reason label of
// wharf_deploy_events_refused_total.
const (
	// refuseUnknownHost: the event's host is bound to no agent token (it
	// never sent a heartbeat with one, or an admin released it).
	refuseUnknownHost = "unknown_host"
	// refuseUnsigned: the host's binding has a key, the event no signature.
	refuseUnsigned = "unsigned"
	// refuseWrongKey: signed by a key that is not the host's (a stranger's,
	// another host's).
	refuseWrongKey = "wrong_key"
	// refuseBadSignature: the host's key id, but the signature does not
	// match: forged, or a real event with a field changed.
	refuseBadSignature = "bad_signature"
)

var refuseReasons = []string{refuseUnknownHost, refuseUnsigned, refuseWrongKey, refuseBadSignature}

// eventRefusal is an event the function will not apply.
type eventRefusal struct {
	reason string
	why    string
}

// eventCounters count refused events by reason, and the unsigned events
// of hosts bound without a key (agents of the previous release) that
// were applied all the same.
type eventCounters struct {
	refused    map[string]*metrics.Counter
	unverified *metrics.Counter
}

func newEventCounters(set *metrics.Set) eventCounters {
	c := eventCounters{
		refused:    make(map[string]*metrics.Counter, len(refuseReasons)),
		unverified: set.GetOrCreateCounter("wharf_deploy_events_unverified_total"),
	}
	for _, r := range refuseReasons {
		c.refused[r] = set.GetOrCreateCounter(fmt.Sprintf(`wharf_deploy_events_refused_total{reason=%q}`, r))
	}
	return c
}

// authenticate checks that ev comes from its host's agent: signed by the
// key bound to the host (tenancy.Binding.PublicKey). The rule:
//
//   - a host with no binding: refused (its agent never sent a heartbeat
//     with an agent token, so no event of it can be trusted);
//   - a host bound with a key: only an event signed by that key counts;
//   - a host bound without a key (its agent is of the previous release,
//     which neither has a key nor signs): its events are applied
//     unverified, counted in wharf_deploy_events_unverified_total and
//     logged at WARN by the caller. The agent's first heartbeat with a
//     key binds it, and from then on unsigned events of the host are
//     refused.
//
// It returns the refusal, whether the event is unverified, or a store
// error (the message is then delivered again).
func (f *Function) authenticate(ctx context.Context, ev *wire.SignedEvent) (ref *eventRefusal, unverified bool, err error) {
	b, _, ok, err := f.hosts.Host(ctx, ev.Host)
	switch {
	case err != nil:
		return nil, false, err
	case !ok:
		return &eventRefusal{refuseUnknownHost, "the host is bound to no agent token (its agent must send heartbeats with an agent-scope token)"}, false, nil
	case len(b.PublicKey) == 0:
		return nil, true, nil
	case !ev.Signed():
		return &eventRefusal{refuseUnsigned, "the host's events must be signed by its key " + wire.KeyID(b.PublicKey)}, false, nil
	case ev.KeyID != wire.KeyID(b.PublicKey):
		return &eventRefusal{refuseWrongKey, "signed by key " + ev.KeyID + ", not the host's key " + wire.KeyID(b.PublicKey)}, false, nil
	case !ev.Verify(b.PublicKey):
		return &eventRefusal{refuseBadSignature, "the signature does not match the event: forged or tampered"}, false, nil
	}
	return nil, false, nil
}
