// Package notify is the notify runner (issue 14): it consumes judge events
// (topic alarms) and posted Alertmanager alerts (topic alarms.posted) on
// channel notify, keeps the alarm cases in the store, routes every case
// change through the team's route tree to its receivers, claims each
// (case, step, receiver) once across all notify nodes, and delivers the
// claims from one queue per receiver with retries, back-off and a bounded
// budget. The store layout is functions/alarms/wire's; the model is
// monitoring/{alarm,amroute,silence,receiver}. See docs/monitoring-notify.md.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	mwire "github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
)

// topicAlarms is the judge's topic of alarm events.
const topicAlarms = mwire.AlarmsTopic

// Notifier is the notify runner. Create it with New and start it with Run.
type Notifier struct {
	opts   Options
	log    *slog.Logger
	stats  *counters
	routes routeCache

	depth atomic.Int64 // queue entries at the last scan
	wake  chan struct{}
	soon  wakeups // when this node's queues next have something due

	keyMu  sync.Mutex
	ackKey []byte // the acknowledgement link key, once read (ack.go)

	mu      sync.Mutex
	working map[string]chan struct{} // receiver queues this node delivers now: their workers' nudge
	stormMu sync.Map                 // queue name: *sync.Mutex serialising its storm control
}

// New checks opts and returns a Notifier; Run starts it.
func New(opts Options) (*Notifier, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	n := &Notifier{
		opts:    opts,
		log:     opts.Logger.With("component", "notify", "node", opts.NodeID),
		wake:    make(chan struct{}, 1),
		working: map[string]chan struct{}{},
	}
	n.stats = newCounters(opts.Metrics, func() float64 { return float64(n.depth.Load()) })
	return n, nil
}

// Run consumes both topics, expires posted alerts and delivers the queues
// until ctx ends; deliveries in progress finish (bounded by their
// receiver's timeout) before Run returns.
func (n *Notifier) Run(ctx context.Context) error {
	var consumers []*bus.Consumer
	defer func() {
		for _, c := range consumers {
			_ = c.Stop()
		}
	}()
	for _, t := range []struct {
		topic string
		h     bus.HandlerFunc
	}{{topicAlarms, n.handleEvent}, {wire.PostedTopic, n.handlePosted}} {
		c, err := bus.NewConsumer(bus.ConsumerOptions{
			Topic: t.topic, Channel: wire.NotifyChannel,
			NSQDAddrs: n.opts.NSQDAddrs, LookupdHTTPAddrs: n.opts.LookupdHTTPAddrs, Security: n.opts.Security,
			MaxInFlight: n.opts.MaxInFlight, MsgTimeout: 30 * time.Second, RequeueDelay: time.Second,
			Handler: t.h, Logger: n.opts.Logger, Metrics: n.opts.Metrics,
		})
		if err != nil {
			return fmt.Errorf("cannot start notify: %w", err)
		}
		if err := c.Start(ctx); err != nil {
			_ = c.Stop()
			if ctx.Err() != nil {
				return nil // stopped before it started
			}
			return fmt.Errorf("cannot start notify: %w", err)
		}
		consumers = append(consumers, c)
	}
	var wg sync.WaitGroup
	wg.Go(func() { n.expireLoop(ctx) })
	if n.opts.Publisher != nil && n.opts.OwedAfter > 0 {
		wg.Go(func() { n.owedLoop(ctx) }) // owed.go
	}
	n.deliverLoop(ctx) // returns when ctx ends and its workers are done
	wg.Wait()
	return nil
}

// poke wakes the delivery loop (a wake-up was added).
func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}
