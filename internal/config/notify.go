package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wharfhq/wharf/internal/egress"
)

// NotifyOptions configures the notify runner (runner/notify) of serve and
// the notify role.
type NotifyOptions struct {
	RetryBudget     time.Duration `yaml:"retry_budget" help:"how long a failing webhook delivery is retried (exponential back-off with jitter) before it is dead and listed as failed"`
	RetryMax        time.Duration `yaml:"retry_max" help:"the longest wait between two attempts of a failing webhook delivery (the back-off starts at 200ms with jitter and doubles up to this)"`
	CombineInterval time.Duration `yaml:"combine_interval" help:"priority 3-6 alarms on a route without group_by go to a receiver at most once per interval, combined in one message (Open-Falcon's combining)"`
	OwedAfter       time.Duration `yaml:"owed_after" help:"a judge event not recorded by notify this long after it was handed to nsqd (nsqd killed while it was in flight) is published again by one notify node; 0 turns this off"`
	PublicURL       string        `yaml:"public_url" help:"the gateway's URL as people reach it: firing alarms in webhook messages and on the alarm stream carry a signed acknowledgement link on it (empty: no links)"`
	ExternalURL     string        `yaml:"external_url" help:"externalURL of the webhook payloads: where people reach Wharf (empty: none)"`
	// AllowReceiverNetworks lifts the receiver URL restriction (loopback,
	// private, link-local and other special addresses) for these networks.
	AllowReceiverNetworks []string `yaml:"allow_receiver_networks" help:"CIDRs or addresses a team's webhook receiver may reach although they are loopback, private or link-local (Wharf's own listeners stay refused), e.g. 10.20.0.0/16"`
}

func defaultNotify() NotifyOptions {
	return NotifyOptions{RetryBudget: time.Hour, RetryMax: 5 * time.Minute, CombineInterval: time.Minute, OwedAfter: 45 * time.Second}
}

func (n NotifyOptions) validate() error {
	var errs []error
	if n.RetryBudget < time.Second || n.RetryBudget > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("notify.retry_budget must be 1s..168h, got %s", n.RetryBudget))
	}
	if n.RetryMax < time.Second || n.RetryMax > 24*time.Hour {
		errs = append(errs, fmt.Errorf("notify.retry_max must be 1s..24h, got %s", n.RetryMax))
	}
	if n.CombineInterval < time.Second || n.CombineInterval > 24*time.Hour {
		errs = append(errs, fmt.Errorf("notify.combine_interval must be 1s..24h, got %s", n.CombineInterval))
	}
	if n.OwedAfter != 0 && (n.OwedAfter < time.Second || n.OwedAfter > time.Hour) {
		errs = append(errs, fmt.Errorf("notify.owed_after must be 0 (off) or 1s..1h, got %s", n.OwedAfter))
	}
	for _, c := range []struct{ name, v string }{{"external_url", n.ExternalURL}, {"public_url", n.PublicURL}} {
		if c.v == "" {
			continue
		}
		u, err := url.Parse(c.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("notify.%s must be an http(s)://host URL without credentials, query or fragment", c.name))
		}
	}
	if _, err := egress.ParseAllow(n.AllowReceiverNetworks); err != nil {
		errs = append(errs, fmt.Errorf("notify.allow_receiver_networks: %w", err))
	}
	return errors.Join(errs...)
}
