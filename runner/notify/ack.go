package notify

import (
	"context"
	"strings"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/monitoring/acklink"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// ackAnnotation is the annotation of a firing alert that carries its
// acknowledgement link.
const ackAnnotation = "ack_url"

// withAckLink adds the acknowledgement link of case c at its current step
// to a firing alert (AckURL and the annotation ack_url): a URL on
// PublicURL whose token (monitoring/acklink) the gateway checks. Without
// PublicURL, for a resolved alert, or when the key cannot be read (logged),
// the alert goes out without it.
func (n *Notifier) withAckLink(ctx context.Context, c alarm.Case, a receiver.Alert) receiver.Alert {
	if n.opts.PublicURL == "" || a.Status != "firing" || !c.State.Firing() {
		return a
	}
	key := n.linkKey(ctx)
	tok := acklink.Sign(key, c.ID, c.StepKey, n.opts.Now().Add(n.opts.AckLinkTTL))
	if tok == "" {
		return a
	}
	a.AckURL = strings.TrimRight(n.opts.PublicURL, "/") + wire.AckPath + tok
	ann := make(map[string]string, len(a.Annotations)+1)
	for k, v := range a.Annotations {
		ann[k] = v
	}
	ann[ackAnnotation] = a.AckURL
	a.Annotations = ann
	return a
}

// linkKey is the acknowledgement link key, read (or created) once; nil
// when the store does not answer (tried again on the next message).
func (n *Notifier) linkKey(ctx context.Context) []byte {
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	if n.ackKey != nil {
		return n.ackKey
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	k, err := wire.LoadAckKey(ctx, n.opts.Store)
	if err != nil {
		n.log.Warn("acknowledgement links left out", "err", err)
		return nil
	}
	n.ackKey = k
	return k
}
