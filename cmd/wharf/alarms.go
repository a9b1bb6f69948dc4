package main

import (
	"context"
	"errors"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/logging"
)

// startAlarmsComponent registers the alarms function (Alertmanager API v2
// and Wharf's alarm routes) on every node that serves HTTP, so that
// Prometheus can post alerts to any of them.
func (w *wiring) startAlarmsComponent(context.Context) (stopFunc, error) {
	if w.st == nil || w.producer == nil {
		return nil, errors.New("cannot start the alarms function: it needs the store and the nsqd producer")
	}
	eg, err := w.egressPolicy()
	if err != nil {
		return nil, err
	}
	fn, err := alarms.New(alarms.Options{Store: w.st, Publisher: w.producer, Version: version, Egress: eg,
		PublicURL: w.opts.Notify.PublicURL, Logger: logging.Component(w.log, "alarms")})
	if err != nil {
		return nil, err
	}
	if err := w.mux.Register(fn); err != nil {
		return nil, err
	}
	return nil, nil
}
