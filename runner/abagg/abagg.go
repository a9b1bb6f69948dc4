// Package abagg is the A/B aggregator runner: it consumes the metric
// events the A/B function publishes (functions/ab/wire.EventsTopic,
// channel aggregator) and keeps per-unit totals per team and metric in
// the store, so that results are per unit. A message is applied once:
// after its totals are written it is marked as seen (with a TTL), and a
// redelivered message that is marked is skipped, and each unit's totals
// remember the last messages added to them, so a message retried after a
// partial failure adds to each unit once. serve runs it, and so
// does every functions node (they share the channel).
package abagg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/ab/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/internal/store"
)

// casAttempts bounds the retries of one unit's read-modify-write.
const casAttempts = 10

// Options configure the aggregator.
type Options struct {
	// Store keeps the totals. Required.
	Store store.Store
	// NSQDAddrs or LookupdHTTPAddrs: where the events are. One is required.
	NSQDAddrs, LookupdHTTPAddrs []string
	// Security for the nsqd connections; nil: plain.
	Security *bus.Security
	// MaxInFlight of the consumer (default 64).
	MaxInFlight int
	// StoreTimeout bounds each store call (default 5s).
	StoreTimeout time.Duration
	// Metrics, if set, gets wharf_ab_aggregated_events_total and the
	// consumer's counters.
	Metrics *metrics.Set
	// Logger; nil discards.
	Logger *slog.Logger
}

// MetricFamilies describes the aggregator's own metrics (its consumer's
// are the bus's).
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_ab_aggregated_events_total", Type: promexp.Counter, Help: "Metric events the A/B aggregator added to the per-unit totals."},
	}
}

// Aggregator keeps per-unit totals of tracked events.
type Aggregator struct {
	opts    Options
	log     *slog.Logger
	applied *metrics.Counter
}

// New checks opts and returns the aggregator; Run consumes.
func New(opts Options) (*Aggregator, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create the ab aggregator: Store is required")
	}
	if len(opts.NSQDAddrs) == 0 && len(opts.LookupdHTTPAddrs) == 0 {
		return nil, errors.New("cannot create the ab aggregator: NSQDAddrs or LookupdHTTPAddrs is required")
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	set := opts.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	return &Aggregator{opts: opts, log: opts.Logger, applied: set.GetOrCreateCounter("wharf_ab_aggregated_events_total")}, nil
}

// Run consumes until ctx ends.
func (a *Aggregator) Run(ctx context.Context) error {
	c, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.EventsTopic, Channel: wire.AggregatorChannel,
		NSQDAddrs: a.opts.NSQDAddrs, LookupdHTTPAddrs: a.opts.LookupdHTTPAddrs, Security: a.opts.Security,
		MaxInFlight: a.opts.MaxInFlight, MsgTimeout: 30 * time.Second, Handler: a.handle,
		Logger: a.opts.Logger, Metrics: a.opts.Metrics,
	})
	if err != nil {
		return fmt.Errorf("cannot start the ab aggregator: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		_ = c.Stop()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("cannot start the ab aggregator: %w", err)
	}
	<-ctx.Done()
	return c.Stop()
}

// handle applies one batch of events.
func (a *Aggregator) handle(ctx context.Context, m *bus.Message) error {
	var evs wire.Events
	if err := json.Unmarshal(m.Body, &evs); err != nil || evs.Version != wire.EventsVersion || evs.Team == "" {
		// Unreadable: retrying cannot help; it goes to the dead letters.
		return fmt.Errorf("cannot decode events (version %d): %v", evs.Version, err)
	}
	seen := wire.SeenPrefix + m.ID
	sctx, cancel := context.WithTimeout(ctx, a.opts.StoreTimeout)
	_, err := a.opts.Store.Get(sctx, seen)
	cancel()
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("cannot check the message: %w", err)
	}
	type agg struct {
		sum         float64
		n           int64
		first, last time.Time
	}
	byKey := map[string]*agg{}
	var order []string
	for _, e := range evs.Events {
		k := wire.TotalsKey(evs.Team, e.Metric, e.Unit)
		g := byKey[k]
		if g == nil {
			g = &agg{first: e.TS, last: e.TS}
			byKey[k] = g
			order = append(order, k)
		}
		g.sum += e.Value
		g.n++
		if e.TS.Before(g.first) {
			g.first = e.TS
		}
		if e.TS.After(g.last) {
			g.last = e.TS
		}
	}
	for _, k := range order {
		g := byKey[k]
		if err := a.add(ctx, k, m.ID, func(t *wire.Totals) {
			t.Sum += g.sum
			t.Count += g.n
			if t.First.IsZero() || g.first.Before(t.First) {
				t.First = g.first
			}
			if g.last.After(t.Last) {
				t.Last = g.last
			}
		}); err != nil {
			return err
		}
	}
	sctx, cancel = context.WithTimeout(ctx, a.opts.StoreTimeout)
	defer cancel()
	if _, err := a.opts.Store.Put(sctx, seen, []byte(`1`), store.PutOptions{TTL: wire.SeenTTL}); err != nil {
		a.log.Warn("cannot mark events as applied; a redelivery would count them again", "err", err)
	}
	a.applied.Add(len(evs.Events))
	return nil
}

// add applies edit to the totals under key, unless message id was
// applied there already (a retry after a partial failure).
func (a *Aggregator) add(ctx context.Context, key, id string, edit func(*wire.Totals)) error {
	for range casAttempts {
		sctx, cancel := context.WithTimeout(ctx, a.opts.StoreTimeout)
		var t wire.Totals
		var ver uint64
		e, err := a.opts.Store.Get(sctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			cancel()
			return fmt.Errorf("cannot read totals: %w", err)
		default:
			ver = e.Version
			if err := json.Unmarshal(e.Value, &t); err != nil {
				cancel()
				return fmt.Errorf("cannot decode totals: %w", err)
			}
		}
		if slices.Contains(t.Applied, id) {
			cancel()
			return nil
		}
		edit(&t)
		t.Applied = append(t.Applied, id)
		if n := len(t.Applied); n > wire.RecentApplied {
			t.Applied = t.Applied[n-wire.RecentApplied:]
		}
		b, _ := json.Marshal(t)
		_, err = a.opts.Store.CompareAndSwap(sctx, key, ver, b, store.PutOptions{})
		cancel()
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot store totals: %w", err)
		}
		return nil
	}
	return errors.New("cannot store totals: too many concurrent changes")
}
