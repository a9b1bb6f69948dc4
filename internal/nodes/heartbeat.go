package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	t := time.NewTicker(h.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := h.beat(ctx)
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
}

// beat evaluates readiness and writes the record with the TTL.
func (h *Heartbeat) beat(ctx context.Context) error {
	rec := h.opts.Record
	cctx, cancel := context.WithTimeout(ctx, h.opts.Interval)
	defer cancel()
	rec.Failing = h.opts.Failing(cctx)
	rec.Ready = len(rec.Failing) == 0
	rec.Seen = h.opts.Now().UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("cannot encode the node record: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, err := h.opts.Store.Put(cctx, Key(rec.ID), b, store.PutOptions{TTL: h.opts.TTL}); err != nil {
		return fmt.Errorf("cannot write the node record: %w", err)
	}
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
