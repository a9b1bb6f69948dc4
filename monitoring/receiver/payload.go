package receiver

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// PayloadVersion is the webhook payload version Wharf writes,
// Alertmanager's current one.
const PayloadVersion = "4"

// Payload is Alertmanager's webhook payload version 4, field for field.
type Payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a payload.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// AckURL is Wharf's addition: the link that acknowledges the alert's
	// case at this step (also its annotation ack_url, which receivers that
	// render annotations show); absent without notify.public_url and on
	// resolved alerts. Templates read it as {{.AckURL}}.
	AckURL string `json:"ackURL,omitempty"`
}

// AlertOf is the payload alert of a case (endsAt is zero while firing,
// printed 0001-01-01T00:00:00Z as Alertmanager does).
func AlertOf(c alarm.Case) Alert {
	ann := c.Annotations
	if ann == nil {
		ann = map[string]string{}
	}
	ls := map[string]string(c.Labels)
	if ls == nil {
		ls = map[string]string{}
	}
	return Alert{
		Status: c.Status(), Labels: ls, Annotations: ann,
		StartsAt: c.StartsAt, EndsAt: c.EndsAt, GeneratorURL: c.GeneratorURL, Fingerprint: c.Fingerprint,
	}
}

// Build assembles a version 4 payload: status "firing" when any alert
// fires, common labels and annotations over all alerts, and at most
// maxAlerts alerts (0 = all) with the rest counted in truncatedAlerts.
func Build(groupKey, receiver string, groupLabels labels.Set, externalURL string, alerts []Alert, maxAlerts int) Payload {
	p := Payload{
		Version: PayloadVersion, GroupKey: groupKey, Status: "resolved", Receiver: receiver,
		GroupLabels: map[string]string{}, CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{},
		ExternalURL: externalURL, Alerts: []Alert{},
	}
	for k, v := range groupLabels {
		p.GroupLabels[k] = v
	}
	for i, a := range alerts {
		if a.Status == "firing" {
			p.Status = "firing"
		}
		if i == 0 {
			for k, v := range a.Labels {
				p.CommonLabels[k] = v
			}
			for k, v := range a.Annotations {
				p.CommonAnnotations[k] = v
			}
			continue
		}
		intersect(p.CommonLabels, a.Labels)
		intersect(p.CommonAnnotations, a.Annotations)
	}
	if maxAlerts > 0 && len(alerts) > maxAlerts {
		p.TruncatedAlerts = len(alerts) - maxAlerts
		alerts = alerts[:maxAlerts]
	}
	p.Alerts = append(p.Alerts, alerts...)
	return p
}

func intersect(common, other map[string]string) {
	for k, v := range common {
		if other[k] != v {
			delete(common, k)
		}
	}
}
