package main

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/logging"
)

// startConfigComponent registers the config function (team API and
// Apollo's client protocol) on every node that serves HTTP and follows
// the store so that its held polls are answered on a publish anywhere.
func (w *wiring) startConfigComponent(ctx context.Context) (stopFunc, error) {
	if w.st == nil || w.authn == nil {
		return nil, errors.New("cannot start the config function: it needs the store and the tokens")
	}
	o := w.opts.ConfigService
	fn, err := config.New(config.Options{Store: w.st, Tokens: w.authn, PollTimeout: o.PollTimeout, ClockWindow: o.ClockWindow, StaleCredentials: o.StaleCredentials,
		Reservations: adminapi.NewReservations(edge.New(w.st, edge.Options{}), registry.New(w.st, registry.Options{})),
		Metrics:      w.metrics, Logger: logging.Component(w.log, "config")})
	if err != nil {
		return nil, err
	}
	if err := w.mux.Register(fn); err != nil {
		return nil, err
	}
	bg := runBackground(ctx, fn.Run)
	w.ops.AddCheck("config", func(context.Context) error {
		select {
		case <-fn.Ready():
			return nil
		default:
			return errors.New("config notifications: the namespaces are not loaded yet")
		}
	})
	return bg.stop, nil
}
