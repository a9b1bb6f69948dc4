package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultFetchTimeout    = 10 * time.Second
	DefaultPollTimeout     = 90 * time.Second // the server holds a poll 60 s
	DefaultRefreshInterval = 5 * time.Minute
	DefaultMinBackoff      = time.Second
	DefaultMaxBackoff      = 2 * time.Minute
)

// NoDir turns ConfigDir or BackupDir off.
const NoDir = "-"

// Options configure a Client. Zero fields take the defaults.
type Options struct {
	// Servers are the base URLs of config service nodes (Wharf's gateway
	// or functions nodes, e.g. "http://127.0.0.1:8080"). Required. A
	// request that cannot reach one, or gets a 5xx, goes to the next.
	Servers []string
	// Discover asks the servers for the config service nodes
	// (/services/config) at Start and every RefreshInterval and uses
	// those it answers instead.
	Discover bool
	// AppID is the app whose configuration is read. Required.
	AppID string
	// Cluster is the app's cluster (default "default").
	Cluster string
	// Namespaces are the namespaces to keep (default ["application"]);
	// formats other than properties carry their extension ("db.yaml").
	Namespaces []string
	// Secret is the app access key's secret: requests are signed with it
	// (Apollo's signature). Token, when Secret is empty, is sent as a
	// bearer token instead. Neither is ever logged.
	Secret, Token string
	// IP and Label identify this client for gray rules (Apollo's ip and
	// label query parameters). IP defaults to the host's first non-loopback address.
	IP, Label string
	// InstanceID is this client's stable identity for Wharf's gray rules
	// by hash percentage (query parameter instanceId; Apollo servers
	// ignore it). Default $WHARF_INSTANCE, which the deploy agent sets
	// for every process; without one the server hashes IP.
	InstanceID string
	// ConfigDir is the deploy agent's cache of this app's cluster, read
	// when the server cannot answer at Start (default $WHARF_CONFIG_DIR;
	// NoDir: none).
	ConfigDir string
	// BackupDir is where the client keeps its own copy of every fetched
	// namespace, read when neither the server nor the agent's files can
	// give it (default <user cache dir>/wharf-config; NoDir: none).
	BackupDir string
	// HTTPClient sends the requests (default: a client of its own). Its
	// Timeout must be 0 or above PollTimeout.
	HTTPClient *http.Client
	// FetchTimeout bounds a /configs or /services/config request
	// (default DefaultFetchTimeout); PollTimeout a long poll (default
	// DefaultPollTimeout).
	FetchTimeout, PollTimeout time.Duration
	// RefreshInterval is how often every namespace is fetched again
	// regardless of notifications (default DefaultRefreshInterval), as
	// Apollo clients do.
	RefreshInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed poll: it
	// doubles from MinBackoff to MaxBackoff, each wait jittered to
	// between half and all of it (defaults DefaultMinBackoff,
	// DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Logger gets the client's logs (default: discarded).
	Logger *slog.Logger
	// Now is the clock of the signatures (default time.Now).
	Now func() time.Time
}

func setDefaults(o *Options) error {
	switch {
	case o.AppID == "":
		return errors.New("cannot create config client: AppID is required")
	case len(o.Servers) == 0:
		return errors.New("cannot create config client: Servers is required")
	}
	servers := make([]string, 0, len(o.Servers))
	for _, s := range o.Servers {
		s = strings.TrimRight(s, "/")
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			return fmt.Errorf("cannot create config client: server %q must start with http:// or https://", s)
		}
		servers = append(servers, s)
	}
	o.Servers = servers
	if o.Cluster == "" {
		o.Cluster = DefaultCluster
	}
	if len(o.Namespaces) == 0 {
		o.Namespaces = []string{DefaultNamespace}
	}
	seen := map[string]bool{}
	for _, ns := range o.Namespaces {
		if ns == "" || seen[ns] {
			return fmt.Errorf("cannot create config client: namespace %q is empty or given twice", ns)
		}
		seen[ns] = true
	}
	if o.ConfigDir == "" {
		o.ConfigDir = os.Getenv(EnvConfigDir)
	}
	if o.BackupDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			o.BackupDir = filepath.Join(dir, "wharf-config")
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.FetchTimeout, DefaultFetchTimeout)
	def(&o.PollTimeout, DefaultPollTimeout)
	def(&o.RefreshInterval, DefaultRefreshInterval)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IP == "" {
		o.IP = localIP()
	}
	if o.InstanceID == "" {
		o.InstanceID = os.Getenv("WHARF_INSTANCE")
	}
	return nil
}
