package config

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// pollLoop long-polls /notifications/v2 until ctx ends: a 304 polls
// again at once, a 200 fetches every namespace it names (and only then
// takes its notification id, so that a failed fetch is retried), and a
// failure waits a jittered, doubling back-off.
func (c *Client) pollLoop(ctx context.Context) {
	defer c.done.Done()
	var backoff time.Duration
	for ctx.Err() == nil {
		if err := c.pollOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = nextBackoff(backoff, c.opts.MinBackoff, c.opts.MaxBackoff)
			wait := jitter(backoff)
			c.log.Warn("long poll failed, retrying", "err", err, "in", wait)
			if !sleep(ctx, wait) {
				return
			}
			continue
		}
		backoff = 0
	}
}

// pollOnce sends one long poll and handles its answer.
func (c *Client) pollOnce(ctx context.Context) error {
	c.mu.Lock()
	notes := make([]Notification, 0, len(c.notes))
	for _, name := range c.opts.Namespaces {
		notes = append(notes, Notification{NamespaceName: name, NotificationID: c.notes[name]})
	}
	c.mu.Unlock()
	status, body, err := c.get(ctx, c.opts.PollTimeout, func(base string) string {
		return notificationsURL(base, c.opts.AppID, c.opts.Cluster, c.opts.IP, notes)
	})
	if err != nil {
		return err
	}
	switch status {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	default:
		return statusError(status, body)
	}
	var got []Notification
	if err := json.Unmarshal(body, &got); err != nil {
		return statusError(status, body)
	}
	c.mu.Lock()
	for _, n := range got {
		if n.Messages != nil {
			for k, v := range n.Messages.Details {
				c.msgs[k] = max(c.msgs[k], v)
			}
		}
	}
	c.mu.Unlock()
	for _, n := range got {
		if c.nss[n.NamespaceName] == nil {
			continue
		}
		err := c.fetch(ctx, n.NamespaceName, true)
		if err != nil && !errAllowed(err) {
			return err
		}
		c.mu.Lock()
		c.notes[n.NamespaceName] = n.NotificationID
		c.mu.Unlock()
	}
	return nil
}

// errAllowed reports whether a fetch after a notification may be taken as
// done: a namespace with no release (deleted) has nothing to fetch.
func errAllowed(err error) bool { return errors.Is(err, ErrNotReleased) }

// refreshLoop fetches every namespace each RefreshInterval.
func (c *Client) refreshLoop(ctx context.Context) {
	defer c.done.Done()
	t := time.NewTicker(c.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.opts.Discover {
			c.discover(ctx)
		}
		for _, name := range slices.Clone(c.opts.Namespaces) {
			if err := c.fetch(ctx, name, true); err != nil && ctx.Err() == nil {
				c.log.Debug("cannot refresh namespace", "namespace", name, "err", err)
			}
		}
	}
}

// nextBackoff doubles d within [lo, hi].
func nextBackoff(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	return min(d*2, hi)
}

// jitter is a random wait between half of d and d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
