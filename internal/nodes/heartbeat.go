package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Options configure a Heartbeat.
type Options struct {
	// Store is where the record lives; required.
	Store store.Store
	// Record is the static part of the record (id, roles, command,
	// version, started_at, addresses); the heartbeat fills in Ready,
	// Failing and Seen.
	Record Record
	// Failing returns the names of the process's readiness checks that
	// fail now (nil: ready). Nil means always ready.
	Failing func(ctx context.Context) []string
	// TTL is how long a record outlives its last refresh (DefaultTTL when zero).
	TTL time.Duration
	// Interval is the refresh period (DefaultInterval when zero); it must
	// be shorter than TTL.
	Interval time.Duration
	// Probe is how often readiness is evaluated between refreshes
	// (DefaultProbe when zero, at most Interval): a change of the failing
	// checks is written at once, so a node that becomes ready a moment
	// after it starts is not shown as failing for a whole Interval. While
	// checks fail, the probe starts at Probe/16 and doubles up to Probe.
	Probe time.Duration
	// Logger gets a warning when a refresh fails and a note when it works again.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Heartbeat keeps one process's record in the store while it runs.
type Heartbeat struct {
	opts   Options
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // serialises writes with the delete of Stop
	failed bool       // the last refresh failed (logged once)
	// written is the failing set of the last record written and when it
	// was written (loop goroutine only after Start).
	written     []string
	writtenAt   time.Time
	writtenOnce bool
}

// New checks opts; Start writes the first record.
func New(opts Options) (*Heartbeat, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create a node heartbeat: no store")
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Probe <= 0 {
		opts.Probe = DefaultProbe
	}
	opts.Probe = min(opts.Probe, opts.Interval)
	if opts.Interval >= opts.TTL {
		return nil, fmt.Errorf("cannot create a node heartbeat: interval %s must be shorter than the TTL %s", opts.Interval, opts.TTL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Failing == nil {
		opts.Failing = func(context.Context) []string { return nil }
	}
	probe := opts.Record
	probe.Seen = opts.Now()
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create a node heartbeat: %w", err)
	}
	return &Heartbeat{opts: opts}, nil
}

// Start writes the record once (an error if the store refuses it), then
// refreshes it every Interval until Stop.
func (h *Heartbeat) Start(ctx context.Context) error {
	if err := h.beat(ctx); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go h.loop(lctx)
	return nil
}

func (h *Heartbeat) loop(ctx context.Context) {
	defer close(h.done)
	// While checks fail, the next probe comes sooner (Probe/16, doubling
	// up to Probe): a starting node's readiness shows within milliseconds
	// and a failing one is not probed in a tight loop.
	wait := h.opts.Probe
	if len(h.written) > 0 {
		wait = max(h.opts.Probe/16, time.Millisecond)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		failing := h.probe(ctx)
		due := !h.writtenOnce || !slices.Equal(failing, h.written) || h.opts.Now().Sub(h.writtenAt) >= h.opts.Interval
		if due {
			err := h.write(ctx, failing)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil && !h.failed:
				h.failed = true
				h.opts.Logger.Warn("cannot refresh the node record: it expires unless the store comes back", "node", h.opts.Record.ID, "err", err)
			case err == nil && h.failed:
				h.failed = false
				h.opts.Logger.Info("node record refreshed again", "node", h.opts.Record.ID)
			}
		}
		if len(failing) == 0 {
			wait = h.opts.Probe
		} else {
			wait = min(2*wait, h.opts.Probe)
		}
		t.Reset(wait)
	}
}

// probe evaluates the readiness checks, bounded by Interval.
func (h *Heartbeat) probe(ctx context.Context) []string {
	cctx, cancel := context.WithTimeout(ctx, h.opts.Interval)
	defer cancel()
	failing := h.opts.Failing(cctx)
	slices.Sort(failing)
	return failing
}

// beat evaluates readiness and writes the record.
func (h *Heartbeat) beat(ctx context.Context) error {
	return h.write(ctx, h.probe(ctx))
}

// write writes the record with failing and the TTL.
func (h *Heartbeat) write(ctx context.Context, failing []string) error {
	rec := h.opts.Record
	rec.Failing = failing
	rec.Ready = len(failing) == 0
	rec.Seen = h.opts.Now().UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("cannot encode the node record: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, h.opts.Interval)
	defer cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, err := h.opts.Store.Put(cctx, Key(rec.ID), b, store.PutOptions{TTL: h.opts.TTL}); err != nil {
		return fmt.Errorf("cannot write the node record: %w", err)
	}
	h.written, h.writtenAt, h.writtenOnce = failing, h.opts.Now(), true
	return nil
}

// Stop ends the refresh loop and deletes the record, so that the node
// leaves the list at once; ctx bounds the delete.
func (h *Heartbeat) Stop(ctx context.Context) error {
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.opts.Store.Delete(ctx, Key(h.opts.Record.ID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("cannot delete the node record: %w", err)
	}
	return nil
}
