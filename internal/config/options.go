// Package config holds the Options every `wharf` role is configured with and
// loads them with the precedence flags > environment (WHARF_*) > YAML file
// (--config) > defaults. Every scalar option has a flag and an env variable
// derived from its YAML path: `gateway.listen` is --gateway-listen and
// WHARF_GATEWAY_LISTEN.
package config

import "time"

// Options configures a Wharf process. The `help` tag is the flag's usage text.
type Options struct {
	DataDir       string          `yaml:"data_dir" help:"directory for the embedded store, outbox, nsqd data, artifacts and the admin token"`
	ShutdownGrace time.Duration   `yaml:"shutdown_grace" help:"how long each step of a graceful shutdown (one per component, in reverse start order) may take before it is given up and the next one runs"`
	Log           LogOptions      `yaml:"log"`
	Internal      InternalOptions `yaml:"internal"`
	Gateway       GatewayOptions  `yaml:"gateway"`
	NSQ           NSQOptions      `yaml:"nsq"`
	Redis         RedisOptions    `yaml:"redis"`
	MinIO         MinIOOptions    `yaml:"minio"`
	Artifacts     ArtifactOptions `yaml:"artifacts"`
	Agent         AgentOptions    `yaml:"agent"`
	// Monitoring configures metric ingest and series (see monitoring.go).
	Monitoring MonitoringOptions `yaml:"monitoring"`
	// Notify configures the notify runner (see notify.go).
	Notify NotifyOptions `yaml:"notify"`
	// ConfigService configures the config function (see configsvc.go).
	ConfigService ConfigServiceOptions `yaml:"config_service"`
	// Limits, Services and Routes are the gateway's declarative edge config
	// (YAML only); the admin API changes them at run time.
	Limits   []LimitConfig   `yaml:"limits"`
	Services []ServiceConfig `yaml:"services"`
	Routes   []RouteConfig   `yaml:"routes"`
	// Runtime tunes the Go runtime (see runtime.go).
	Runtime RuntimeOptions `yaml:"runtime"`
}

// LogOptions configures log/slog output.
type LogOptions struct {
	Format string `yaml:"format" help:"log format: text or json"`
	Level  string `yaml:"level" help:"log level: debug, info, warn or error"`
}

// InternalOptions configures the internal listener (/health, /ready, /metrics, /debug/pprof/).
type InternalOptions struct {
	Listen string `yaml:"listen" help:"internal listener address (health, readiness, metrics, pprof); keep it private"`
}

// GatewayOptions configures the edge listener.
type GatewayOptions struct {
	Listen         string        `yaml:"listen" help:"gateway listen address (IPv4 and IPv6)"`
	TrustedProxies []string      `yaml:"trusted_proxies" help:"CIDRs of proxies whose X-Forwarded-For and X-Request-Id are trusted"`
	ReadTimeout    time.Duration `yaml:"read_timeout" help:"maximum time to read a request's headers and body"`
	WriteTimeout   time.Duration `yaml:"write_timeout" help:"maximum time to write a response"`
	IdleTimeout    time.Duration `yaml:"idle_timeout" help:"keep-alive idle timeout"`
	MaxBodyBytes   int           `yaml:"max_body_bytes" help:"default request body limit in bytes"`
	IPv6Prefix     int           `yaml:"ipv6_prefix" help:"IPv6 clients are limited and banned per prefix of this length"`
	ACL            ACLConfig     `yaml:"acl"`
	// AccessLogEvery samples the access log.
	AccessLogEvery  int           `yaml:"access_log_every" help:"log one of every N requests (0: no access log, 1: every request); server errors are always logged when on"`
	ConnectTimeout  time.Duration `yaml:"connect_timeout" help:"default upstream connect timeout of routes without timeouts.connect"`
	ResponseTimeout time.Duration `yaml:"response_timeout" help:"default upstream response timeout of routes without timeouts.response"`
	UpstreamIdle    time.Duration `yaml:"upstream_idle_timeout" help:"default idle time of pooled upstream keep-alive connections"`
	LimitTimeout    time.Duration `yaml:"limit_timeout" help:"roles: a cluster rate-limit decision slower than this falls back to local limiting at rate/N"`
	PipelineDelay   time.Duration `yaml:"pipeline_batch_delay" help:"how long a pipelined upstream connection waits to write queued requests together"`
	// TLS adds an HTTPS listener (see TLSOptions).
	TLS TLSOptions `yaml:"tls"`
}

// ACLConfig is an allow and a deny list of CIDRs or IPs. Deny beats allow; a
// non-empty allow list admits only matching clients.
type ACLConfig struct {
	Allow []string `yaml:"allow" json:"allow" help:"CIDRs or IPs admitted (empty: everybody not denied)"`
	Deny  []string `yaml:"deny" json:"deny" help:"CIDRs or IPs refused with 403"`
}

// LimitConfig is one nginx limit_req-style rate limit, referenced by name from routes.
type LimitConfig struct {
	Name string `yaml:"name" json:"name"`
	// Key is ip | header:<Name> | route | ip+route.
	Key string `yaml:"key" json:"key"`
	// Rate is "N r/s" or "N r/m".
	Rate    string `yaml:"rate" json:"rate,omitempty"`
	Burst   int    `yaml:"burst" json:"burst"`
	Delay   int    `yaml:"delay" json:"delay"`
	NoDelay bool   `yaml:"nodelay" json:"nodelay"`
	Status  int    `yaml:"status" json:"status"`
	DryRun  bool   `yaml:"dry_run" json:"dry_run"`
	// Conn makes this a concurrency limit instead of a rate limit (nginx
	// limit_conn): at most Conn requests in flight per key; set it instead of
	// Rate. Its Status defaults to 503 like nginx's limit_conn_status.
	Conn int `yaml:"conn" json:"conn,omitempty"`
}

// ServiceConfig is a named set of upstream instances.
type ServiceConfig struct {
	Name string `yaml:"name" json:"name"`
	// Team grants the service's name to a team: the first push of the app
	// of that name may come from it (see internal/tenancy). Empty: the
	// name is reserved for the team named like the service.
	Team      string           `yaml:"team" json:"team,omitempty"`
	Instances []InstanceConfig `yaml:"instances" json:"instances"`
	// Pipeline, when above 0, sends GET/HEAD/OPTIONS/TRACE requests without
	// a body over this many HTTP/1.1-pipelined connections per instance,
	// writing queued requests together; see the README. 0 (default): off.
	Pipeline int `yaml:"pipeline" json:"pipeline,omitempty"`
	// Health turns on active health checks of the instances.
	Health *HealthConfig `yaml:"health" json:"health,omitempty"`
	// AdaptiveConcurrency bounds the requests in flight to the service by a
	// limit that follows its measured latency and throughput (brpc's auto
	// limiter); over it a request gets 503 with Retry-After. Off by default.
	AdaptiveConcurrency bool `yaml:"adaptive_concurrency" json:"adaptive_concurrency,omitempty"`
	// Rooms is the service's room (datacenter) policy: how its traffic is
	// split between the rooms its instances are in, and how it fails over.
	// Nil: every instance shares the traffic, whatever its room.
	Rooms *RoomsConfig `yaml:"rooms" json:"rooms,omitempty"`
}

// RoomsConfig is a service's room policy as the config file and the edge
// document hold it; gateway/rooms.Policy is its compiled form and documents
// each field. Zero Threshold, Overprovision and RecoverAfter take defaults
// (0.7, 1.4 and 30s).
type RoomsConfig struct {
	// Weights is the traffic weight per room, e.g. {bj: 100, sh: 0}.
	Weights map[string]int `yaml:"weights" json:"weights"`
	// Priority is the failover order; empty: rooms with weight, heaviest first.
	Priority []string `yaml:"priority" json:"priority,omitempty"`
	// Threshold is the healthy share below which a room spills traffic.
	Threshold float64 `yaml:"threshold" json:"threshold,omitempty"`
	// Overprovision: a degraded room keeps min(1, healthy × this) of its weight.
	Overprovision float64 `yaml:"overprovision" json:"overprovision,omitempty"`
	// RecoverAfter is how long a room must stay healthy to get its weight back.
	RecoverAfter Duration `yaml:"recover_after" json:"recover_after,omitempty"`
	// Sticky chooses the room per client IP (rendezvous hashing).
	Sticky bool `yaml:"sticky" json:"sticky,omitempty"`
}

// HealthConfig is an active health check: GET Path on every instance every
// Interval; Unhealthy failures in a row take it out, Healthy passes bring it
// back. Zero fields take the defaults (5s, 1s, 2, 3).
type HealthConfig struct {
	Path      string   `yaml:"path" json:"path"`
	Interval  Duration `yaml:"interval" json:"interval"`
	Timeout   Duration `yaml:"timeout" json:"timeout"`
	Healthy   int      `yaml:"healthy" json:"healthy"`
	Unhealthy int      `yaml:"unhealthy" json:"unhealthy"`
}

// InstanceConfig is one upstream instance.
type InstanceConfig struct {
	Addr   string `yaml:"addr" json:"addr"`
	Weight int    `yaml:"weight" json:"weight,omitempty"`
	// Room is the room (datacenter) the instance is in; see ServiceConfig.Rooms.
	Room string `yaml:"room" json:"room,omitempty"`
	// Version is the release the instance runs (registered instances
	// report it); the gateway counts each version's requests and errors
	// for deploy health gates.
	Version string `yaml:"version" json:"version,omitempty"`
}

// RouteConfig sends matching requests to a service or a function.
type RouteConfig struct {
	// Name identifies the route in the admin API, metrics and logs; in YAML it
	// defaults to "route<i>" (its position in the list).
	Name string `yaml:"name" json:"name"`
	// Host is exact or a wildcard like *.example.com; empty matches any host.
	Host string `yaml:"host" json:"host,omitempty"`
	// Path is a prefix; the longest matching prefix wins.
	Path     string         `yaml:"path" json:"path"`
	Methods  []string       `yaml:"methods" json:"methods,omitempty"`
	Service  string         `yaml:"service" json:"service,omitempty"`
	Function string         `yaml:"function" json:"function,omitempty"`
	Limits   []string       `yaml:"limits" json:"limits,omitempty"`
	MaxBody  int64          `yaml:"max_body_bytes" json:"max_body_bytes,omitempty"`
	ACL      ACLConfig      `yaml:"acl" json:"acl"`
	Timeouts TimeoutConfig  `yaml:"timeouts" json:"timeouts"`
	AutoBan  *AutoBanConfig `yaml:"auto_ban" json:"auto_ban,omitempty"`
	// ShadowBuiltin allows a path under a built-in prefix (BuiltinPrefixes():
	// the API, functions, artifact uploads, console) to go somewhere else
	// than Wharf's own functions; without it such a route is refused.
	ShadowBuiltin bool `yaml:"shadow_builtin" json:"shadow_builtin,omitempty"`
	// Match is how Path matches (see rewrite.go): "prefix" (default, a byte
	// prefix) or "segment" (on a path segment boundary).
	Match string `yaml:"match" json:"match,omitempty"`
	// StripPrefix and Rewrite change the path sent upstream (see rewrite.go).
	StripPrefix bool           `yaml:"strip_prefix" json:"strip_prefix,omitempty"`
	Rewrite     *RewriteConfig `yaml:"rewrite" json:"rewrite,omitempty"`
	// PassRawPath sends the client's request target upstream exactly as it
	// came, even when it needed normalization (see docs/pathsafe.md): off
	// by default, for service routes without a rewrite only.
	PassRawPath bool `yaml:"pass_raw_path" json:"pass_raw_path,omitempty"`
}

// TimeoutConfig bounds one proxied request; zero means the gateway default.
type TimeoutConfig struct {
	Connect  Duration `yaml:"connect" json:"connect"`
	Response Duration `yaml:"response" json:"response"`
	Idle     Duration `yaml:"idle" json:"idle"`
}

// AutoBanConfig bans a client for For after it was rate-limited After times within Within.
type AutoBanConfig struct {
	After  int      `yaml:"after" json:"after"`
	Within Duration `yaml:"within" json:"within"`
	For    Duration `yaml:"for" json:"for"`
}

// NSQOptions configures the message bus.
type NSQOptions struct {
	EmbeddedTCP  string   `yaml:"embedded_tcp" help:"serve only: TCP address of the in-process nsqd"`
	EmbeddedHTTP string   `yaml:"embedded_http" help:"serve only: HTTP address of the in-process nsqd"`
	NSQD         []string `yaml:"nsqd" help:"nsqd TCP addresses to publish to (roles)"`
	Lookupd      []string `yaml:"lookupd" help:"nsqlookupd HTTP addresses consumers discover nsqd through (roles)"`
	NSQDHTTP     []string `yaml:"nsqd_http" help:"roles without nsq.lookupd: HTTP API addresses of the nsqds the monitor reads its consumers' backlog from (with lookupd they are found there; serve knows its own)"`
	MaxInFlight  int      `yaml:"max_in_flight" help:"messages a consumer may hold at once"`
	// TLS, the TLS files, ServerName and AuthSecretFile secure the roles'
	// connections to nsqd (see nsq.go); serve's embedded nsqd stays plain.
	TLS            bool   `yaml:"tls" help:"roles: connect to nsqd with TLS (nsqd --tls-required), at least TLS 1.2"`
	TLSCAFile      string `yaml:"tls_ca_file" help:"PEM file of the CA(s) nsqd's certificate must chain to (empty: system roots)"`
	TLSCertFile    string `yaml:"tls_cert_file" help:"PEM client certificate for nsqd --tls-client-auth-policy=require-verify (with nsq.tls_key_file)"`
	TLSKeyFile     string `yaml:"tls_key_file" help:"PEM private key of nsq.tls_cert_file"`
	TLSServerName  string `yaml:"tls_server_name" help:"name nsqd's certificate is verified against (empty: the host of each nsqd address)"`
	AuthSecretFile string `yaml:"auth_secret_file" help:"file holding the secret sent to nsqd's AUTH (nsqd --auth-http-address); a file so the secret stays out of ps and logs"`
}

// RedisOptions configures the shared store.
type RedisOptions struct {
	Addr      string `yaml:"addr" help:"Redis address host:port (roles)"`
	Password  string `yaml:"password" help:"Redis password"`
	DB        int    `yaml:"db" help:"Redis database number"`
	Namespace string `yaml:"namespace" help:"prefix of every Redis key Wharf writes"`
}

// MinIOOptions configures the S3 blob store.
type MinIOOptions struct {
	Endpoint  string `yaml:"endpoint" help:"MinIO/S3 endpoint host:port (roles)"`
	AccessKey string `yaml:"access_key" help:"S3 access key"`
	SecretKey string `yaml:"secret_key" help:"S3 secret key"`
	Bucket    string `yaml:"bucket" help:"bucket holding artifact bundles"`
	Secure    bool   `yaml:"secure" help:"use TLS to reach the endpoint"`
}

// ArtifactOptions configures the disk artifact backend used by serve.
type ArtifactOptions struct {
	Dir            string        `yaml:"dir" help:"serve only: artifact directory (default <data-dir>/artifacts)"`
	QuotaBytes     int64         `yaml:"quota_bytes" help:"bytes of bundles each team may store (0: unlimited)"`
	KeepLast       int           `yaml:"keep_last" help:"retention keeps this many newest versions per app, plus live and recently deployed ones (0: keep everything)"`
	DeployedWithin time.Duration `yaml:"deployed_within" help:"retention also keeps versions deployed within this long"`
	GCEvery        time.Duration `yaml:"gc_every" help:"how often retention and garbage collection run (0: only on demand, POST /api/v1/artifacts/gc)"`
}

// AgentOptions configures the deploy agent role.
type AgentOptions struct {
	ID     string   `yaml:"id" help:"agent host id (default: the hostname)"`
	Room   string   `yaml:"room" help:"room (datacenter) this host is in"`
	Labels []string `yaml:"labels" help:"host labels, e.g. ssd,big"`
	// Server and TokenFile reach the control plane (serve: its own gateway
	// and a token it creates).
	Server    string `yaml:"server" help:"agent: Wharf gateway URL the agent calls (serve: its own)"`
	TokenFile string `yaml:"token_file" help:"agent: file holding an agent-scope token (serve: created in <data-dir>/agent.token)"`
	// Local turns serve's local agent on or off.
	Local bool `yaml:"local" help:"serve only: run a deploy agent for this machine in the same process"`
	// Advertise is the address the gateway reaches this host's instances at.
	Advertise string `yaml:"advertise" help:"address the gateway reaches this host's app instances at"`
	// DrainDelay is how long old instances keep serving after they are
	// deregistered, so every gateway stops sending them requests first.
	DrainDelay time.Duration `yaml:"drain_delay" help:"how long a replaced instance keeps serving after it leaves the registry"`
	// HealthTimeout bounds the wait for new instances to pass their check.
	HealthTimeout time.Duration `yaml:"health_timeout" help:"how long new instances may take to pass their health check before the task fails"`
	// RunAs, AppUIDBase and AppUIDCount choose the user deployed apps run
	// as (see runner/agent Options.RunAs).
	RunAs       string `yaml:"run_as" help:"user deployed apps and hooks run as: empty = a uid and gid of their own per app when Wharf runs as root (else Wharf's own user, with a warning); self = Wharf's own user; or a user name, uid or uid:gid for every app"`
	AppUIDBase  int    `yaml:"app_uid_base" help:"first uid/gid given to apps when run_as is empty and Wharf runs as root (0: 70000)"`
	AppUIDCount int    `yaml:"app_uid_count" help:"how many uids from app_uid_base apps may get (0: 10000)"`
	PortMin     int    `yaml:"port_min" help:"lowest port given to web instances (0: 20000; keep the range below the kernel's ephemeral ports)"`
	PortMax     int    `yaml:"port_max" help:"highest port given to web instances (0: 32000)"`
	AppsDir     string `yaml:"apps_dir" help:"where releases live (empty: <data_dir>/agent/apps, or /var/lib/wharf-apps/<hash> when apps run as their own users and cannot reach the data dir)"`
}

// Defaults returns the options Wharf runs with when nothing is configured.
func Defaults() Options {
	return Options{
		DataDir:       "./data",
		ShutdownGrace: 10 * time.Second,
		Log:           LogOptions{Format: "text", Level: "info"},
		Internal:      InternalOptions{Listen: "127.0.0.1:9090"},
		Gateway: GatewayOptions{
			Listen:          ":8080",
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     90 * time.Second,
			MaxBodyBytes:    4 << 20,
			IPv6Prefix:      64,
			ConnectTimeout:  2 * time.Second,
			ResponseTimeout: 30 * time.Second,
			UpstreamIdle:    90 * time.Second,
			LimitTimeout:    5 * time.Millisecond,
			PipelineDelay:   50 * time.Microsecond,
			TLS:             TLSOptions{MinVersion: "1.2", CheckEvery: 10 * time.Second},
		},
		NSQ:           NSQOptions{EmbeddedTCP: "127.0.0.1:4150", EmbeddedHTTP: "127.0.0.1:4151", MaxInFlight: 64},
		Redis:         RedisOptions{Namespace: "wharf"},
		MinIO:         MinIOOptions{Bucket: "wharf-artifacts"},
		Artifacts:     ArtifactOptions{QuotaBytes: 10 << 30, DeployedWithin: 30 * 24 * time.Hour, GCEvery: time.Hour},
		Agent:         AgentOptions{Room: "local", Local: true, Advertise: "127.0.0.1", DrainDelay: 2 * time.Second, HealthTimeout: time.Minute},
		Monitoring:    defaultMonitoring(),
		Notify:        defaultNotify(),
		ConfigService: defaultConfigService(),
	}
}
