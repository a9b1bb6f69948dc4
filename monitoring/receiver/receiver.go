package receiver

import (
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// Kind is what a receiver is.
type Kind string

// The kinds.
const (
	// KindWebhook posts Alertmanager's webhook payload version 4.
	KindWebhook Kind = "webhook"
	// KindTemplate posts a body rendered from a text/template.
	KindTemplate Kind = "template"
	// KindSSE is a server-sent-events subscriber: nothing is sent from
	// notify; GET /api/v1/alarms/stream serves cases its filter matches.
	KindSSE Kind = "sse"
)

// Defaults and limits of a receiver.
const (
	DefaultTimeout = 10 * time.Second
	MaxTimeout     = 60 * time.Second
	MaxURLBytes    = 2048
	MaxNameBytes   = 64
)

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`)

// Receiver is a team's receiver as stored and sent over the API.
type Receiver struct {
	// Name is unique within the team; routes name receivers by it.
	Name string `json:"name"`
	Team string `json:"team"`
	Kind Kind   `json:"kind"`
	// URL, Timeout ("10s"), SecretRef and MaxAlerts apply to webhook and
	// template kinds.
	URL     string `json:"url,omitempty"`
	Timeout string `json:"timeout,omitempty"`
	// SecretRef names the HMAC secret (kept in the store's secrets, never
	// in the receiver, logs or payloads); empty means unsigned.
	SecretRef string `json:"secret_ref,omitempty"`
	// MaxAlerts caps the alerts of one message (0 = all), the rest
	// counted in truncatedAlerts, as Alertmanager's max_alerts.
	MaxAlerts int `json:"max_alerts,omitempty"`
	// SendResolved: also notify resolutions (default true, as
	// Alertmanager's webhook_config).
	SendResolved *bool `json:"send_resolved,omitempty"`
	// Body is the text/template of a template receiver; ContentType its
	// Content-Type (default application/json, and then the rendered body
	// must be JSON).
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Matchers filter an sse receiver's stream (none = everything of the
	// team).
	Matchers []string `json:"matchers,omitempty"`
	// StormLimit messages per StormInterval at most; 0 = no limit.
	StormLimit    int    `json:"storm_limit,omitempty"`
	StormInterval string `json:"storm_interval,omitempty"`
}

// Compiled is a validated receiver with its parsed parts.
type Compiled struct {
	Receiver
	TimeoutDur       time.Duration
	StormIntervalDur time.Duration
	Template         *Template       // KindTemplate
	Filter           labels.Matchers // KindSSE
}

// Resolved reports whether the receiver wants resolutions.
func (r Receiver) Resolved() bool { return r.SendResolved == nil || *r.SendResolved }

// Compile validates r and parses its template, durations and matchers.
// Errors are a fielderr.List with the JSON field names.
func Compile(r Receiver) (*Compiled, error) {
	var errs fielderr.List
	c := &Compiled{Receiver: r, TimeoutDur: DefaultTimeout}
	if !namePattern.MatchString(r.Name) {
		errs.Add("name", "1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if r.Team == "" {
		errs.Add("team", "required")
	}
	dur := func(field, s string, max time.Duration, into *time.Duration) {
		if s == "" {
			return
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			errs.Add(field, fmt.Sprintf("invalid duration %q, e.g. 10s", s))
		case d <= 0 || (max > 0 && d > max):
			errs.Add(field, fmt.Sprintf("must be above 0 and at most %s", max))
		default:
			*into = d
		}
	}
	switch r.Kind {
	case KindWebhook, KindTemplate:
		checkURL(r.URL, &errs)
		dur("timeout", r.Timeout, MaxTimeout, &c.TimeoutDur)
		if r.SecretRef != "" && !namePattern.MatchString(r.SecretRef) {
			errs.Add("secret_ref", "the name of a secret: 1–64 letters, digits, '.', '_' or '-'")
		}
		if r.MaxAlerts < 0 {
			errs.Add("max_alerts", "must be 0 (all) or more")
		}
		if r.Kind == KindTemplate {
			t, err := ParseTemplate(r.Body, r.ContentType)
			if err != nil {
				errs.Add("body", err.Error())
			}
			c.Template = t
		} else if r.Body != "" {
			errs.Add("body", "only a template receiver has a body")
		}
	case KindSSE:
		if r.URL != "" {
			errs.Add("url", "an sse receiver has no url")
		}
		for i, s := range r.Matchers {
			ms, err := labels.ParseMatchers(s)
			if err != nil {
				errs.Add(fmt.Sprintf("matchers[%d]", i), err.Error())
				continue
			}
			c.Filter = append(c.Filter, ms...)
		}
	default:
		errs.Add("kind", `must be "webhook", "template" or "sse"`)
	}
	if r.StormLimit < 0 {
		errs.Add("storm_limit", "must be 0 (no limit) or more")
	}
	if r.StormLimit > 0 && r.StormInterval == "" {
		errs.Add("storm_interval", "required with storm_limit")
	}
	dur("storm_interval", r.StormInterval, 24*time.Hour, &c.StormIntervalDur)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

func checkURL(s string, errs *fielderr.List) {
	if s == "" {
		errs.Add("url", "required")
		return
	}
	if len(s) > MaxURLBytes {
		errs.Add("url", fmt.Sprintf("at most %d bytes", MaxURLBytes))
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		errs.Add("url", "not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.Add("url", "must be http:// or https://")
	case u.Host == "":
		errs.Add("url", "must name a host")
	case u.User != nil:
		errs.Add("url", "must not carry credentials (use secret_ref to sign)")
	}
}

// Matches reports whether an sse receiver's filter selects a case of the
// given team and labels: same team, and every matcher holds.
func (c *Compiled) Matches(team string, ls labels.Set) bool {
	return team == c.Team && c.Filter.Matches(ls)
}
