// Package cluster is the gateway's cluster-wide rate limiting: several wharf
// gateway nodes share one Redis and together admit what one nginx limit_req
// (ratelimit.Zone) would admit.
//
// # Decisions
//
// A Set (the zones of one route) decides a request with ONE Lua script run
// (EVALSHA, falling back to EVAL when Redis answers NOSCRIPT) over all the
// request's limits, using Redis server time (TIME, in ms) as the clock. The
// script is ratelimit.Set.Decide evaluated atomically: same outcomes, delays,
// dry-run rules, Excess and RetryAfter; a rejection charges nothing. State
// lives per (zone name, key) in a hash {excess, last} (milli-requests, ms) under
//
//	<Prefix><len(name)>:<name>:<key bytes, raw>
//
// (Redis keys are binary-safe; the length prefix makes the split unambiguous
// whatever the name contains). Each hash gets a PEXPIRE of the time its excess
// needs to drain fully at the zone's rate, plus one second: an expired key is
// indistinguishable from an idle one. Zones are identified by name across
// nodes and reloads: every node must give a name the same settings. A reload
// that lowers a zone's rate may let a key expire before it has drained at the
// new rate (it then starts afresh, at most one burst early).
//
// # Nodes and fallback
//
// Run heartbeats the node into the sorted set <Prefix>nodes (score = Redis
// time) every HeartbeatEvery and counts members seen within NodeTTL: Nodes().
// The count is kept when Redis is down (at least 1).
//
// A decision that fails (Redis unreachable, an error, or no answer within
// Timeout) is decided locally instead. After FallbackAfter consecutive failed
// decisions, or one failed heartbeat, the node switches to fallback mode and
// decides all requests locally, each zone at Rate/N (N = last known node
// count; at least 1 milli-request/s; burst and delay unchanged) through the
// zones' With views, so limiting is degraded but never off and never an
// error. The local state is the zones' own tables, kept when N changes, and
// it is warm: in cluster mode every request Redis admits is also charged to
// the local Rate/N view (a ~50 ns local decision whose outcome is ignored),
// so a local decision starts from this node's recent share of the traffic,
// not from a fresh burst. While
// in fallback, Run probes Redis every ProbeEvery (PING within Timeout, then a
// heartbeat and a script load); decisions never touch Redis, so a dead Redis
// is not hammered and go-redis does not churn connections. When a probe
// succeeds the node returns to cluster mode. Transitions are logged (Warn to
// fallback, Info back) and counted:
//
//	wharf_ratelimit_cluster_fallbacks_total    cluster → fallback transitions
//	wharf_ratelimit_cluster_recoveries_total   fallback → cluster transitions
//	wharf_ratelimit_cluster_redis_errors_total failed Redis decisions and heartbeats
//	wharf_ratelimit_cluster_decisions_total{backend="redis"|"local"}
//	wharf_ratelimit_cluster_mode               1 = cluster, 0 = fallback
//	wharf_ratelimit_cluster_nodes              live node count N
//
// A decision that timed out may still have been charged in Redis; it is then
// charged locally too (conservative).
//
// # Redis client
//
// The client must honour context deadlines (ContextTimeoutEnabled), or a
// decision can block for the client's ReadTimeout instead of Timeout. go-redis
// closes a connection whose command hit a deadline, so sustained timeouts
// would mean a dial per request; that is why the node stops sending decisions
// to Redis after FallbackAfter consecutive failures, and why ClientOptions
// (the recommended settings) neither retries commands or dials nor pre-dials
// idle connections. A lone timeout costs one reconnect. With a Redis Cluster
// client every key of a decision must hash to one slot: Prefix must then
// contain a hash tag, e.g. "{wharf:rl}:". Rate-limit state is soft: the Redis
// needs no persistence, and fsync on every write (appendfsync always) costs
// more than the decision itself.
//
// # Usage
//
//	c, err := cluster.New(cluster.Options{Client: redis.NewClient(cluster.ClientOptions(addr))})
//	go c.Run(ctx)
//	set, err := c.NewSet(perIP, perHost) // *ratelimit.Zone, shared with the local limiter
//	d := set.Decide([][]byte{ip, host})  // a ratelimit.Decision
package cluster
