package notify

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/egress"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/notifyplan"
)

// Options configure a Notifier. Zero values get the defaults noted.
type Options struct {
	// Store keeps cases, claims, queues, routes, receivers, silences.
	// Required.
	Store store.Store
	// NSQDAddrs or LookupdHTTPAddrs find the topics alarms and
	// alarms.posted. One is required.
	NSQDAddrs, LookupdHTTPAddrs []string
	// Security secures the nsqd connections; nil: plain.
	Security *bus.Security
	// NodeID names this node in claims and queue leases. Default
	// hostname-pid.
	NodeID string
	// MaxInFlight is the number of messages each consumer holds at once.
	// Default 16.
	MaxInFlight int
	// RetryBudget is how long a failing delivery is retried (from its
	// claim's creation) before it is dead. Default 1h.
	RetryBudget time.Duration
	// RetryMin and RetryMax bound the exponential back-off between
	// attempts of one delivery: RetryMin after the first failure, doubled
	// per attempt up to RetryMax, each wait half fixed and half random.
	// Defaults 200ms and 5m.
	RetryMin, RetryMax time.Duration
	// LeaseTTL is the life of a receiver queue's lease (renewed every
	// LeaseTTL/3) and the margin after a send's timeout before another
	// node may retry a delivery left "sending". Default 10s.
	LeaseTTL time.Duration
	// ScanInterval is how often at least the queues are scanned for due
	// deliveries: a node also scans when the earliest queued delivery
	// comes due and when it queued one, so this bounds how late it finds
	// what other nodes queued while it held the queue. Default 1s.
	ScanInterval time.Duration
	// ExpireInterval is how often posted alerts are checked for an endsAt
	// that passed. Default 15s.
	ExpireInterval time.Duration
	// MaxWorkers bounds the receiver queues delivered at once by this
	// node. Default 16.
	MaxWorkers int
	// SendsPerQueue bounds the messages of one receiver queue a node
	// sends at once: different groups, the combined steps, different
	// cases (a group's or a case's steps go out in order). Default 8.
	SendsPerQueue int
	// CombineInterval is Open-Falcon's combine interval: priority 3–6
	// steps on a route without group_by go to a receiver at most once per
	// interval, in one message. Default 60s.
	CombineInterval time.Duration
	// ClaimTTL is how long a claim is kept after its final state. Default
	// 7 days.
	ClaimTTL time.Duration
	// Publisher publishes owed judge events again (the reconciler, see
	// owed.go); nil: no reconciler on this node.
	Publisher Publisher
	// OwedAfter is how long a judge event may stay owed (handed to nsqd,
	// its case step not recorded by notify) before the reconciler
	// publishes it again; the reconciler looks every OwedAfter/3.
	// Default 45s; negative: no reconciler on this node.
	OwedAfter time.Duration
	// PublicURL is the gateway's URL as people reach it: every firing
	// alert of a message carries an acknowledgement link on it
	// (ack.go). Empty: no links.
	PublicURL string
	// AckLinkTTL is how long an acknowledgement link is valid. Default 7
	// days.
	AckLinkTTL time.Duration
	// ExternalURL is the payloads' externalURL (where Wharf is reached).
	ExternalURL string
	// Client sends the webhooks; each call is bounded by its receiver's
	// timeout. Default: a client that does not follow redirects.
	Client *http.Client
	// Egress, when set, restricts where teams' receivers connect: their
	// webhooks go through a client of their own that checks every dialled
	// address (after name resolution) and follows no redirect or proxy; a
	// refused address makes the delivery dead at once. The admin's
	// receivers (team _global) use Client.
	Egress *egress.Policy
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets the wharf_notify_* metrics and the consumers'
	// counters; nil: a private set.
	Metrics *metrics.Set

	teamClient *http.Client // Client, or the Egress-checking one
}

// guardedClient is the client of teams' webhooks under policy p: every
// dialled address is checked, no proxy, no redirect.
func guardedClient(p *egress.Policy) *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy, tr.DialContext = nil, d.DialContext
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (o *Options) setDefaults() error {
	if o.Store == nil {
		return errors.New("cannot create notify: Store is required")
	}
	if len(o.NSQDAddrs) == 0 && len(o.LookupdHTTPAddrs) == 0 {
		return errors.New("cannot create notify: NSQDAddrs or LookupdHTTPAddrs is required")
	}
	if o.NodeID == "" {
		host, _ := os.Hostname()
		o.NodeID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if !store.ValidKey(wire.QueueLeasePrefix + o.NodeID) {
		return errors.New("cannot create notify: node ID is not a valid key part")
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 16
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = time.Hour
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 200 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = time.Second
	}
	if o.ExpireInterval <= 0 {
		o.ExpireInterval = 15 * time.Second
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 16
	}
	if o.SendsPerQueue <= 0 {
		o.SendsPerQueue = 8
	}
	if o.CombineInterval <= 0 {
		o.CombineInterval = notifyplan.DefaultCombineInterval
	}
	if o.OwedAfter == 0 {
		o.OwedAfter = 45 * time.Second
	}
	if o.OwedAfter > 0 && o.OwedAfter < 30*time.Millisecond {
		return errors.New("cannot create notify: OwedAfter is too short")
	}
	if o.AckLinkTTL <= 0 {
		o.AckLinkTTL = 7 * 24 * time.Hour
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 7 * 24 * time.Hour
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Egress != nil {
		o.teamClient = guardedClient(o.Egress)
	} else {
		o.teamClient = o.Client
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	return nil
}
