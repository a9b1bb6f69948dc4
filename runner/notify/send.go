package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// maxResponseDrain bounds the bytes of a receiver's answer read (and
// dropped) so the connection can be reused.
const maxResponseDrain = 64 << 10

// send posts one message to a webhook or template receiver and returns
// its result ("200", "HTTP 503", "timeout after 10s", ...; never the URL
// or a secret). A 2xx answer is success.
func (n *Notifier) send(ctx context.Context, r *receiver.Compiled, team string, body []byte, contentType, idem string) (string, error) {
	var secret []byte
	if r.SecretRef != "" {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		e, err := n.opts.Store.Get(sctx, wire.SecretKey(team, r.SecretRef))
		cancel()
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = fmt.Errorf("secret %q not found", r.SecretRef)
			} else {
				err = errors.New("cannot read the receiver's secret")
			}
			return err.Error(), err
		}
		secret = e.Value
	}
	hctx, cancel := context.WithTimeout(ctx, r.TimeoutDur)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return "invalid url", errors.New("invalid url")
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "wharf-notify")
	req.Header.Set(receiver.HeaderIdempotencyKey, idem)
	if secret != nil {
		req.Header.Set(receiver.HeaderSignature, receiver.Sign(secret, body, n.opts.Now()))
	}
	client := n.opts.teamClient
	if team == wire.GlobalTeam {
		client = n.opts.Client
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		if hctx.Err() != nil {
			err = fmt.Errorf("timeout after %s", r.TimeoutDur)
		}
		return err.Error(), err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxResponseDrain)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res := "HTTP " + strconv.Itoa(resp.StatusCode)
		return res, errors.New(res)
	}
	return strconv.Itoa(resp.StatusCode), nil
}

// alertFor is the payload alert of the claimed step of c: its status that
// of the step (the case may have moved on since).
func alertFor(c alarm.Case, cl wire.Claim) receiver.Alert {
	a := receiver.AlertOf(c)
	if resolvedStep(cl.StepKey) {
		a.Status = "resolved"
		if a.EndsAt.IsZero() {
			a.EndsAt = cl.CreatedAt
		}
	} else {
		a.Status = "firing"
		if c.Source == alarm.SourceAlertmanager {
			a.EndsAt = c.ExpiresAt
		} else {
			a.EndsAt = time.Time{}
		}
	}
	a.Annotations = escalated(c, cl, a.Annotations)
	return a
}

// body renders a message: Alertmanager's webhook v4 payload of alerts
// with the claim's group key and labels, or the receiver's template over
// it.
func (n *Notifier) body(r *receiver.Compiled, cl wire.Claim, alerts []receiver.Alert) ([]byte, string, error) {
	p := receiver.Build(cl.GroupKey, cl.Receiver, cl.GroupLabels, n.opts.ExternalURL, alerts, r.MaxAlerts)
	if r.Kind == receiver.KindTemplate && r.Template != nil {
		b, err := r.Template.Render(p)
		if err != nil {
			return nil, "", fmt.Errorf("cannot render template: %w", err)
		}
		return b, r.Template.ContentType(), nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, "", fmt.Errorf("cannot encode payload: %w", err)
	}
	return b, "application/json", nil
}
