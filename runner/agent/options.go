package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/feed"
	"github.com/wharfhq/wharf/runner/agent/release"
)

// Defaults of Options.
const (
	DefaultDrainDelay        = 2 * time.Second
	DefaultHealthTimeout     = 60 * time.Second
	DefaultKeep              = release.DefaultKeep
	DefaultInstanceTTL       = 10 * time.Second
	DefaultInstanceHeartbeat = 3 * time.Second
	DefaultMaxInFlight       = 4
	DefaultAPITimeout        = 5 * time.Second
	DefaultLogShipEvery      = time.Second
	DefaultLogBuffer         = 4096
	DefaultFlushTimeout      = 5 * time.Second
	DefaultMaxTaskAttempts   = 3
	DefaultAdvertiseHost     = "127.0.0.1"
)

// Options configure an Agent. Zero fields take the defaults.
type Options struct {
	// HostID names this host: its NSQ topic is wire.HostTopic(HostID).
	// Required.
	HostID string
	// Room, Labels and Capacity describe the host in its heartbeat; Room
	// also goes with every instance registration.
	Room     string
	Labels   []string
	Capacity int
	// Version is the agent's build version, sent in heartbeats.
	Version string
	// DataDir holds the state file, the outbox, the releases (apps/) and
	// the processes' logs (logs/<app>/). Required; created if missing.
	DataDir string
	// API calls the Wharf server with the agent's token: heartbeats,
	// artifact downloads and instance registrations. Required.
	API *apiclient.Client
	// NSQDAddrs are nsqd TCP addresses: events are published there, and
	// tasks consumed from there unless LookupdHTTPAddrs is set. Required.
	NSQDAddrs []string
	// LookupdHTTPAddrs, when set, are used to find the nsqds with tasks.
	LookupdHTTPAddrs []string
	// BusSecurity is the TLS and AUTH of the agent's nsqd connections; nil: plain.
	BusSecurity *bus.Security
	// Logger receives the agent's logs (default: discarded).
	Logger *slog.Logger
	// Now is the clock of events (default time.Now).
	Now func() time.Time
	// DrainDelay is the wait between deregistering instances and stopping
	// their processes (default 2s; gateways apply registry changes within
	// about a second).
	DrainDelay time.Duration
	// HealthTimeout bounds the wait for a release's web instances to be
	// healthy (default 60s).
	HealthTimeout time.Duration
	// Keep is how many releases of an app stay on disk (default 5).
	Keep int
	// InstanceTTL is the registrations' TTL (default 10s); they are
	// refreshed every InstanceHeartbeat (default 3s).
	InstanceTTL       time.Duration
	InstanceHeartbeat time.Duration
	// HeartbeatEvery is the host heartbeat period (default
	// wire.HeartbeatEvery).
	HeartbeatEvery time.Duration
	// AdvertiseHost is the host part of the registered instance addresses
	// (default 127.0.0.1). Health checks always use 127.0.0.1.
	AdvertiseHost string
	// MaxInFlight is the NSQ consumer's max in flight (default 4).
	MaxInFlight int
	// APITimeout bounds each API call but downloads (default 5s).
	APITimeout time.Duration
	// LogShipEvery is how often the apps' new output lines are shipped to
	// the API (default DefaultLogShipEvery); a full batch goes at once.
	// LogBuffer is how many lines wait at most (default
	// DefaultLogBuffer); past it lines are dropped and counted, never
	// blocking an app.
	LogShipEvery time.Duration
	LogBuffer    int
	// FlushTimeout bounds the outbox flush at shutdown (default 5s).
	FlushTimeout time.Duration
	// MaxTaskAttempts is how many times a task is started (across agent
	// restarts) before it is reported failed (default 3).
	MaxTaskAttempts int
	// DownloadRetries and DownloadBackoff tune release.Options (defaults
	// there).
	DownloadRetries int
	DownloadBackoff time.Duration
	// RunAs is the user app processes and hooks run as: RunAsAuto (the
	// default: a uid and gid of its own per app when the agent runs as
	// root, else the agent's own user with a warning), RunAsSelf, or a
	// user name, uid or uid:gid that every app runs as (needs root).
	// Isolated apps can read their own release only: the data dir can be
	// crossed but not listed, logs, state and outbox are the agent's.
	RunAs string
	// AppUIDBase and AppUIDCount are the range of the per-app uids
	// (defaults DefaultAppUIDBase, DefaultAppUIDCount); ids that the
	// system's users or groups have are skipped.
	AppUIDBase, AppUIDCount int
	// PortMin and PortMax bound the web instances' ports (defaults
	// DefaultPortMin, DefaultPortMax: below the kernel's ephemeral range).
	PortMin, PortMax int
	// AppsDir is where releases live (default DataDir/apps; when apps
	// are isolated and that cannot be reached by them, FallbackAppsRoot/<hash>).
	AppsDir string
	// Metrics gets the agent's counters (wharf_agent_tasks_refused_total
	// by reason, wharf_agent_tasks_verified_total); nil keeps them private.
	Metrics *metrics.Set
	// Feed, when set, gets the host's metrics (cpu.*, mem.*, load.*,
	// df.bytes.* of DataDir's file system) and each supervised instance's
	// state (wharf.instance.*) every FeedStep (default 30s).
	Feed     feed.Sink
	FeedStep time.Duration
	// ConfigServers, when set, are the config service's base URLs (the
	// server the agent talks to): the agent keeps each app's config
	// namespaces (manifest config.namespaces, default application, of
	// config.cluster, default "default") current by long poll and writes
	// them to DataDir/config/<app>/<cluster>/<namespace file>, which its
	// processes find in WHARF_CONFIG_DIR. ConfigToken authenticates the
	// reads (the agent's token). ConfigPollTimeout bounds a long poll
	// (default the client's, 90s).
	ConfigServers     []string
	ConfigToken       string
	ConfigPollTimeout time.Duration
}

func setDefaults(o *Options) error {
	switch {
	case o.HostID == "":
		return errors.New("cannot create agent: HostID is required")
	case o.DataDir == "":
		return errors.New("cannot create agent: DataDir is required")
	case o.API == nil:
		return errors.New("cannot create agent: API is required")
	case len(o.NSQDAddrs) == 0:
		return errors.New("cannot create agent: NSQDAddrs is required")
	}
	if err := bus.ValidateTopic(wire.HostTopic(o.HostID)); err != nil {
		return fmt.Errorf("cannot create agent: host id %q: %w", o.HostID, err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FeedStep <= 0 {
		o.FeedStep = 30 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DrainDelay, DefaultDrainDelay)
	def(&o.HealthTimeout, DefaultHealthTimeout)
	def(&o.InstanceTTL, DefaultInstanceTTL)
	def(&o.InstanceHeartbeat, DefaultInstanceHeartbeat)
	def(&o.HeartbeatEvery, wire.HeartbeatEvery)
	def(&o.APITimeout, DefaultAPITimeout)
	def(&o.FlushTimeout, DefaultFlushTimeout)
	def(&o.LogShipEvery, DefaultLogShipEvery)
	if o.LogBuffer <= 0 {
		o.LogBuffer = DefaultLogBuffer
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxTaskAttempts <= 0 {
		o.MaxTaskAttempts = DefaultMaxTaskAttempts
	}
	if o.AdvertiseHost == "" {
		o.AdvertiseHost = DefaultAdvertiseHost
	}
	if o.PortMin == 0 && o.PortMax == 0 {
		o.PortMin, o.PortMax = DefaultPortMin, DefaultPortMax
	}
	return nil
}
