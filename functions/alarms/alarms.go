// Package alarms is the function behind Wharf's alarm HTTP API: the parts
// of Alertmanager's API v2 that its clients use (Prometheus, vmalert and
// amtool work unmodified) and Wharf's own alarm routes.
//
//	POST   /api/v2/alerts              admin, ingest, team (its team label forced): post alerts (amapi.go)
//	GET    /api/v2/alerts              admin, team: firing alerts (filter=, active, silenced, inhibited)
//	GET    /api/v2/silences            admin, team: silences (filter=)
//	POST   /api/v2/silences            admin, team: create or update a silence (silences.go)
//	GET    /api/v2/silence/{id}        admin, team: one silence
//	DELETE /api/v2/silence/{id}        admin, team: expire it
//	GET    /api/v2/status              any token: what amtool reads
//	GET    /api/v1/alarms              admin, team: alarm cases (cases.go)
//	GET    /api/v1/alarms/{id}         admin, team: one case with its history
//	POST   /api/v1/alarms/{id}/ack     admin, team: acknowledge a case
//	GET|POST /api/v1/ack?token=        public (the signed link is the right): show or acknowledge a case (acklink.go)
//	GET    /api/v1/alarms/stream       admin, team: server-sent events of case changes (stream.go)
//	GET    /api/v1/alarms/deliveries   admin, team: dead deliveries (deliveries.go)
//	GET    /api/v1/receivers/{team}    admin, team: a team's receivers (receivers.go)
//	GET|PUT|DELETE /api/v1/receivers/{team}/{name}  admin, team: one receiver (secret write-only)
//	GET|PUT /api/v1/routes/{team}      admin, team: the team's route tree, versioned (routes.go)
//	GET|PUT /api/v1/inhibit/{team}     admin, team: the team's inhibition rules, versioned (inhibit.go)
//
// The values are those of monitoring/alarm and monitoring/silence, stored
// under the keys of functions/alarms/wire; posted alerts go to the notify
// runner as one wire.Posted per request on wire.PostedTopic. A team token
// sees and changes its team's cases and silences only (access.go).
package alarms

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/egress"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
)

// Publisher publishes one message; *bus.Producer is one.
type Publisher interface {
	Publish(ctx context.Context, topic string, body []byte) error
}

// Options configure the alarms function.
type Options struct {
	// Store holds cases and silences. Required.
	Store store.Store
	// Publisher gets the posted alerts. Required.
	Publisher Publisher
	// Version is reported by GET /api/v2/status (versionInfo.version).
	Version string
	// StoreTimeout bounds each store call of a request; PublishTimeout the
	// publishing of one POST /api/v2/alerts. Default 5s each.
	StoreTimeout   time.Duration
	PublishTimeout time.Duration
	// HeartbeatInterval is how often an idle alarm stream sends a comment
	// line. Default 15s.
	HeartbeatInterval time.Duration
	// Egress restricts where a team's webhook receiver may point (checked
	// on PUT, 400 naming url); nil: anywhere. The admin's receivers (team
	// _global) are exempt.
	Egress *egress.Policy
	// PublicURL is the gateway's URL as people reach it
	// (notify.public_url): the stream's firing cases carry an
	// acknowledgement link on it. Empty: no links.
	PublicURL string
	// AckLinkTTL is how long an acknowledgement link is valid. Default
	// 7 days.
	AckLinkTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Function is the alarms function.
type Function struct {
	opts    Options
	log     *slog.Logger
	started time.Time

	keyMu sync.Mutex
	key   []byte // the acknowledgement link key, once read (acklink.go)
}

// New checks opts and returns the function.
func New(opts Options) (*Function, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create alarms function: Store is required")
	}
	if opts.Publisher == nil {
		return nil, errors.New("cannot create alarms function: Publisher is required")
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 15 * time.Second
	}
	if opts.AckLinkTTL <= 0 {
		opts.AckLinkTTL = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	return &Function{opts: opts, log: opts.Logger, started: opts.Now()}, nil
}

// Name implements fnapi.Function.
func (f *Function) Name() string { return "alarms" }

// Routes implements fnapi.Function. Every route takes any valid token and
// checks the scopes in the handler (access.go), since a team token's
// rights depend on the team of what it touches.
func (f *Function) Routes() []fnapi.Route {
	any := fnapi.AnyToken()
	return []fnapi.Route{
		{Method: fasthttp.MethodPost, Pattern: "/api/v2/alerts", Access: any, Handler: f.postAlerts},
		{Method: fasthttp.MethodGet, Pattern: "/api/v2/alerts", Access: any, Handler: readers(f.getAlerts)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v2/silences", Access: any, Handler: readers(f.listSilences)},
		{Method: fasthttp.MethodPost, Pattern: "/api/v2/silences", Access: any, Handler: readers(f.postSilence)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v2/silence/{id}", Access: any, Handler: readers(f.getSilence)},
		{Method: fasthttp.MethodDelete, Pattern: "/api/v2/silence/{id}", Access: any, Handler: readers(f.deleteSilence)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v2/status", Access: any, Handler: f.status},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/alarms", Access: any, Handler: readers(f.listCases)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/alarms/{id}", Access: any, Handler: readers(f.getCase)},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/alarms/{id}/ack", Access: any, Handler: readers(f.ackCase)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/ack", Access: fnapi.Public(), Handler: f.getAckLink},
		{Method: fasthttp.MethodPost, Pattern: "/api/v1/ack", Access: fnapi.Public(), Handler: f.postAckLink},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/alarms/stream", Access: any, Handler: readers(f.stream)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/alarms/deliveries", Access: any, Handler: readers(f.listDeliveries)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/receivers/{team}", Access: any, Handler: readers(f.listReceivers)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/receivers/{team}/{name}", Access: any, Handler: readers(f.getReceiver)},
		{Method: fasthttp.MethodPut, Pattern: "/api/v1/receivers/{team}/{name}", Access: any, Handler: readers(f.putReceiver)},
		{Method: fasthttp.MethodDelete, Pattern: "/api/v1/receivers/{team}/{name}", Access: any, Handler: readers(f.deleteReceiver)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/routes/{team}", Access: any, Handler: readers(f.getRoute)},
		{Method: fasthttp.MethodPut, Pattern: "/api/v1/routes/{team}", Access: any, Handler: readers(f.putRoute)},
		{Method: fasthttp.MethodGet, Pattern: "/api/v1/inhibit/{team}", Access: any, Handler: readers(f.getInhibit)},
		{Method: fasthttp.MethodPut, Pattern: "/api/v1/inhibit/{team}", Access: any, Handler: readers(f.putInhibit)},
	}
}

// storeCtx is the context of one store call of r.
func (f *Function) storeCtx(r *fnapi.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), f.opts.StoreTimeout)
}
